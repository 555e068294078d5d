#!/usr/bin/python3
"""Send one WebSocket upgrade request over TLS; print the answer's head.

Usage: ws_probe.py HOST PORT PATH CAFILE [ORIGIN]. Prints the status code
and the headers of the answer, as JSON.
"""
import base64
import json
import os
import socket
import ssl
import sys

host, port_text, path, cafile = sys.argv[1:5]
origin = sys.argv[5] if len(sys.argv) > 5 else ""
port = int(port_text)
context = ssl.create_default_context(cafile=cafile)
key = base64.b64encode(os.urandom(16)).decode()
request = (
    f"GET {path} HTTP/1.1\r\n"
    f"Host: {host}\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {key}\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    + (f"Origin: {origin}\r\n" if origin else "")
    + "\r\n"
)
with (
    socket.create_connection((host, port), timeout=10) as raw,
    context.wrap_socket(raw, server_hostname=host) as tls,
):
    tls.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = tls.recv(4096)
        if not chunk:
            break
        head += chunk
lines = head.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
headers = {}
for line in lines[1:]:
    name, _, value = line.partition(":")
    headers[name.strip().lower()] = value.strip()
print(json.dumps({"status": int(lines[0].split()[1]), "headers": headers}))
