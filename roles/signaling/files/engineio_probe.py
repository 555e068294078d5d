#!/usr/bin/env python3
"""Prove that a socket.io endpoint upgrades its clients to WebSocket.

The probe does what a socket.io client does on connect: the Engine.IO v4
handshake over long-polling, the WebSocket upgrade with the session id
(101 and the "probe" echo), the upgrade packet, then the socket.io
CONNECT of the default namespace, answered over the WebSocket. It needs
only the standard library, so it runs on the control node and on any
host with python3. It prints one JSON line and exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import urllib.parse

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OPCODE_TEXT = 0x1
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9
OPCODE_PONG = 0xA
MAX_HEADER_BYTES = 64 * 1024
MAX_FRAMES = 16


class ProbeError(Exception):
    """The endpoint did not behave as a WebSocket-capable server."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True,
                        help="base URL, e.g. https://localhost:8443")
    parser.add_argument("--origin", default="",
                        help="Origin header to send (default: none)")
    parser.add_argument("--ca-file", default="",
                        help="CA bundle that verifies an https URL")
    parser.add_argument("--connect", default="",
                        help="host[:port] to connect to instead of the "
                        "URL's host (TLS name and Host stay the URL's)")
    parser.add_argument("--path", default="/socket.io/",
                        help="socket.io path (default: /socket.io/)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds per network step (default: 10)")
    return parser.parse_args()


class Endpoint:
    """Where to connect and what to say, taken from the base URL."""

    def __init__(self, args: argparse.Namespace) -> None:
        url = urllib.parse.urlsplit(args.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ProbeError(f"unsupported URL {args.url!r}")

        self.tls = url.scheme == "https"
        self.server_name = url.hostname
        default_port = 443 if self.tls else 80
        self.host_header = url.netloc
        self.address = (url.hostname, url.port or default_port)
        if args.connect:
            host, _, port = args.connect.rpartition(":")
            if not host:
                host, port = args.connect, str(self.address[1])
            self.address = (host, int(port))

        self.path = args.path
        self.origin = args.origin
        self.timeout = args.timeout
        self.context: ssl.SSLContext | None = None
        if self.tls:
            self.context = ssl.create_default_context(
                cafile=args.ca_file or None)

    def connect(self) -> socket.socket:
        raw = socket.create_connection(self.address, timeout=self.timeout)
        if self.context is None:
            return raw
        return self.context.wrap_socket(raw, server_hostname=self.server_name)

    def request(self, target: str, headers: dict[str, str]) -> bytes:
        lines = [f"GET {target} HTTP/1.1", f"Host: {self.host_header}"]
        if self.origin:
            lines.append(f"Origin: {self.origin}")
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read a response head; return status, headers and any extra bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ProbeError("connection closed before the response head")
        data += chunk
        if len(data) > MAX_HEADER_BYTES:
            raise ProbeError("response head too large")

    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ProbeError(f"malformed status line {status_line!r}")

    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, rest


def read_body(sock: socket.socket, headers: dict[str, str],
              rest: bytes) -> bytes:
    """Read a response body framed by Content-Length or chunked."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        data = rest
        body = b""
        while True:
            while b"\r\n" not in data:
                data += recv_some(sock)
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(data) < size + 2:
                data += recv_some(sock)
            if size == 0:
                return body
            body += data[:size]
            data = data[size + 2:]

    length = int(headers.get("content-length", "0"))
    body = rest
    while len(body) < length:
        body += recv_some(sock)
    return body[:length]


def recv_some(sock: socket.socket) -> bytes:
    chunk = sock.recv(4096)
    if not chunk:
        raise ProbeError("connection closed in the middle of a response")
    return chunk


def handshake(endpoint: Endpoint) -> dict[str, object]:
    """Open an Engine.IO session over long-polling."""
    target = f"{endpoint.path}?EIO=4&transport=polling"
    with endpoint.connect() as sock:
        sock.sendall(endpoint.request(target, {"Connection": "close"}))
        status, headers, rest = read_head(sock)
        body = read_body(sock, headers, rest)

    if status != 200:
        raise ProbeError(f"polling handshake answered {status}: "
                         f"{body[:200]!r}")
    if not body.startswith(b"0"):
        raise ProbeError(f"polling handshake sent no open packet: "
                         f"{body[:200]!r}")
    opened: dict[str, object] = json.loads(body[1:])
    if "websocket" not in opened.get("upgrades", []):  # type: ignore[operator]
        raise ProbeError(f"server offers no websocket upgrade: {opened}")
    return opened


def send_text(sock: socket.socket, text: str) -> None:
    """Send one masked text frame, as a client must."""
    payload = text.encode("utf-8")
    mask = os.urandom(4)
    header = bytes([0x80 | OPCODE_TEXT])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    else:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    sock.sendall(header + mask + masked)


class FrameReader:
    """Read the server's unmasked frames from a socket."""

    def __init__(self, sock: socket.socket, pending: bytes) -> None:
        self.sock = sock
        self.buffer = pending

    def take(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self.buffer += recv_some(self.sock)
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def next_text(self) -> str:
        for _ in range(MAX_FRAMES):
            first, second = self.take(2)
            opcode = first & 0x0F
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self.take(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self.take(8))
            payload = self.take(length)
            if opcode == OPCODE_TEXT:
                return payload.decode("utf-8")
            if opcode == OPCODE_CLOSE:
                raise ProbeError(f"server closed the WebSocket: {payload!r}")
            if opcode == OPCODE_PING:
                continue
        raise ProbeError("no text frame from the server")


def upgrade(endpoint: Endpoint, sid: str) -> dict[str, object]:
    """Upgrade the session to WebSocket and connect the namespace.

    Pings ("2") are answered and no-ops ("6", which the server may send
    to end a pending poll) skipped while waiting for the CONNECT answer.
    """
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    expected_accept = base64.b64encode(hashlib.sha1(
        (key + WEBSOCKET_GUID).encode("ascii")).digest()).decode("ascii")
    target = (f"{endpoint.path}?EIO=4&transport=websocket&sid="
              f"{urllib.parse.quote(sid)}")

    with endpoint.connect() as sock:
        sock.sendall(endpoint.request(target, {
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": key,
        }))
        status, headers, rest = read_head(sock)
        if status != 101:
            raise ProbeError(f"WebSocket upgrade answered {status}, not 101")
        if headers.get("sec-websocket-accept") != expected_accept:
            raise ProbeError("WebSocket upgrade sent a wrong accept key")

        frames = FrameReader(sock, rest)
        send_text(sock, "2probe")
        answer = frames.next_text()
        if answer != "3probe":
            raise ProbeError(f"probe answered {answer!r}, not '3probe'")

        send_text(sock, "5")
        send_text(sock, "40")
        connected = frames.next_text()
        while connected in ("2", "6"):
            if connected == "2":
                send_text(sock, "3")
            connected = frames.next_text()
        if not connected.startswith("40"):
            raise ProbeError(f"namespace connect answered {connected!r}")
        return {"status": status, "probe": answer, "connect": connected}


def main() -> int:
    args = parse_args()
    try:
        endpoint = Endpoint(args)
        opened = handshake(endpoint)
        result = upgrade(endpoint, str(opened["sid"]))
    except (ProbeError, OSError, ValueError, KeyError) as error:
        print(json.dumps({"ok": False, "url": args.url,
                          "error": f"{type(error).__name__}: {error}"}))
        return 1

    # The transport named here is the one the session was just upgraded
    # to and answered on: upgrade() raises unless that happened.
    print(json.dumps({"ok": True, "url": args.url, "transport": "websocket",
                      "upgrade_status": result["status"],
                      "probe": result["probe"],
                      "namespace_connect": result["connect"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
