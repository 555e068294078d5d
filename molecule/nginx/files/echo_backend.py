#!/usr/bin/python3
"""Stand-in for the app upstream in the nginx scenario.

Answers every request with the method, path and headers it received, as
JSON. A WebSocket upgrade request gets a real 101 handshake whose headers
echo what arrived (X-Echo-*), so that the client can see what nginx sent.
"""
import base64
import hashlib
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ECHOED = ("Upgrade", "Connection", "Host", "X-Forwarded-Proto",
          "X-Forwarded-For")


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body_bytes = len(self.rfile.read(length)) if length else 0

        if self.headers.get("Upgrade", "").lower() == "websocket":
            key = self.headers.get("Sec-WebSocket-Key", "")
            accept = base64.b64encode(
                hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            for name in ECHOED:
                self.send_header("X-Echo-" + name, self.headers.get(name, ""))
            self.end_headers()
            self.close_connection = True
            return

        body = json.dumps({
            "method": self.command,
            "path": self.path,
            "body_bytes": body_bytes,
            "headers": dict(self.headers.items()),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _reply


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", 8000), EchoHandler).serve_forever()
