#!/usr/bin/python3
"""Parley lab service: an internal plain-http service behind the edge.

It stands for the other intranet services a site publishes under a path
of Parley's https origin (nginx_proxy_locations). Its page reports the
host it runs on and proves both kinds of traffic through the edge: a
fetch of api/status and a WebSocket echo on ws, both by URLs relative to
the page, so that an https page never calls http:// or ws:// (F06).

Usage: labservice.py [--bind ADDRESS] [--port PORT]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE_BYTES = 4096
STARTED = time.time()
logger = logging.getLogger("labservice")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Parley lab service</title>
  <script type="module" src="app.js"></script>
</head>
<body>
  <h1>Parley lab service</h1>
  <p>Host: <span id="host">?</span></p>
  <p>Status: <span id="status">loading</span></p>
  <p>WebSocket: <span id="echo">connecting</span></p>
</body>
</html>
"""

SCRIPT = """// Relative URLs only: the page's own scheme, host and path prefix.
async function loadStatus() {
  const response = await fetch('api/status');
  const status = await response.json();
  document.getElementById('host').textContent = status.host;
  document.getElementById('status').textContent = 'ok';
}

function echoOverWebSocket() {
  const url = new URL('ws', window.location.href);
  url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(url);
  socket.onopen = () => socket.send('ping');
  socket.onmessage = (event) => {
    document.getElementById('echo').textContent = `echo ${event.data}`;
  };
  socket.onerror = () => {
    document.getElementById('echo').textContent = 'error';
  };
}

loadStatus().catch((error) => {
  document.getElementById('status').textContent = `error: ${error.message}`;
});
echoOverWebSocket();
"""


class LabHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "parley-labservice"

    def log_message(self, format: str, *args: object) -> None:
        logger.info("request %s", format % args)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/ws":
            self.echo_websocket()
        elif path == "/":
            self.reply(200, "text/html; charset=utf-8", PAGE.encode())
        elif path == "/app.js":
            self.reply(200, "text/javascript", SCRIPT.encode())
        elif path == "/api/status":
            status = {
                "host": socket.gethostname(),
                "uptime_seconds": int(time.time() - STARTED),
                "forwarded_proto": self.headers.get("X-Forwarded-Proto", ""),
                "forwarded_prefix": self.headers.get(
                    "X-Forwarded-Prefix", ""
                ),
            }
            self.reply(200, "application/json", json.dumps(status).encode())
        else:
            self.reply(404, "application/json", b'{"error": "unknown"}')

    def reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def echo_websocket(self) -> None:
        """Accept the upgrade, echo one text message, then close."""
        key = self.headers.get("Sec-WebSocket-Key", "")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not key:
            self.reply(400, "application/json", b'{"error": "not_upgrade"}')
            return

        accept = base64.b64encode(
            hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()
        ).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True

        message = self.read_text_frame()
        self.wfile.write(frame(0x1, message))
        self.wfile.write(frame(0x8, b""))
        self.wfile.flush()

    def read_text_frame(self) -> bytes:
        first, second = self.rfile.read(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.rfile.read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.rfile.read(8))
        if first & 0x0F != 0x1 or length > MAX_MESSAGE_BYTES:
            return b"refused"

        mask = self.rfile.read(4) if second & 0x80 else b"\0\0\0\0"
        payload = self.rfile.read(length)
        return bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def frame(opcode: int, payload: bytes) -> bytes:
    head = bytes([0x80 | opcode])
    if len(payload) < 126:
        return head + bytes([len(payload)]) + payload
    return head + bytes([126]) + struct.pack("!H", len(payload)) + payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logger.info("listening bind=%s port=%d", args.bind, args.port)
    ThreadingHTTPServer((args.bind, args.port), LabHandler).serve_forever()


if __name__ == "__main__":
    main()
