#!/usr/bin/env python3
"""POST a small generated PNG to the app; print the JSON answer.

Proves, through the running service itself, that its screenshot store
is writable under the unit's sandbox. Exits 1 unless the app answers 201.
"""

import json
import struct
import sys
import urllib.error
import urllib.request
import zlib

WIDTH = 4
HEIGHT = 3


def chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return (struct.pack("!I", len(data)) + body
            + struct.pack("!I", zlib.crc32(body) & 0xFFFFFFFF))


def png() -> bytes:
    header = struct.pack("!IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80\x40\x20" * WIDTH for _ in range(HEIGHT))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def main() -> int:
    request = urllib.request.Request(
        sys.argv[1], data=png(), method="POST",
        headers={"Content-Type": "image/png"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    print(json.dumps({"status": status, "body": body.decode("utf-8")}))
    return 0 if status == 201 else 1


if __name__ == "__main__":
    sys.exit(main())
