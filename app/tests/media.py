"""Real media files for the tests, made with ffmpeg and zlib."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

CUES_ID = b"\x1c\x53\xbb\x6b"  # Matroska Cues element: what makes seeking


def make_live_webm(path: Path, seconds: int = 5) -> bytes:
    """A VP8 WebM written to a pipe, as MediaRecorder writes it: no cues."""
    command = [
        "ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi",
        "-i", f"testsrc=size=320x240:rate=10:duration={seconds}",
        "-c:v", "libvpx", "-b:v", "200k", "-f", "webm", "pipe:1",
    ]
    data = subprocess.run(command, capture_output=True, check=True).stdout
    path.write_bytes(data)
    return data


def make_jpeg(path: Path, width: int = 64, height: int = 48) -> bytes:
    """A real JPEG image made by ffmpeg."""
    command = [
        "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
        "-i", f"testsrc=size={width}x{height}:rate=1", "-frames:v", "1",
        str(path),
    ]
    subprocess.run(command, check=True)
    return path.read_bytes()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def make_png(width: int, height: int) -> bytes:
    """A valid RGB PNG; width or height 0 gives a header-only image."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def split(data: bytes, parts: int) -> list[bytes]:
    """`data` cut into `parts` pieces of nearly equal size."""
    size = -(-len(data) // parts)
    return [data[i:i + size] for i in range(0, len(data), size)]
