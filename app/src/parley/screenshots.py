"""Screenshots: PNG or JPEG bytes, checked, then stored atomically.

The bytes' own signature decides the type and the extension, never a
header or a file name sent by the client. Width and height come from
the image header (PNG IHDR, JPEG SOFn) and must not be zero.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from . import storage

logger = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_HEADER_END = 24  # signature, IHDR length and type, width, height
JPEG_SIGNATURE = b"\xff\xd8\xff"
JPEG_MARK = 0xFF
JPEG_LENGTH_BYTES = 2
MAX_SIDE_PX = 16384
# Start-of-frame markers: baseline, progressive, lossless, arithmetic.
JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}
DATA_URL = re.compile(
    rb"^data:image/[a-z]+;base64,(?P<payload>[A-Za-z0-9+/=\s]*)$"
)


class ScreenshotError(Exception):
    """A refused screenshot, with a stable code and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ImageInfo:
    """What the header of an image says."""

    type: str
    extension: str
    width: int
    height: int


def decode_body(body: bytes) -> bytes:
    """Raw image bytes from a binary body or a base64 data URL."""
    if not body.startswith(b"data:"):
        return body

    match = DATA_URL.match(body)
    if match is None:
        raise ScreenshotError(
            "invalid", "a data URL must be data:image/<type>;base64,<data>"
        )
    try:
        return base64.b64decode(
            b"".join(match.group("payload").split()), validate=True
        )
    except binascii.Error as error:
        raise ScreenshotError("invalid", "broken base64 data") from error


def _png_info(data: bytes) -> ImageInfo:
    if len(data) < PNG_HEADER_END or data[12:16] != b"IHDR":
        raise ScreenshotError("invalid", "PNG without an IHDR header")
    width, height = struct.unpack(">II", data[16:PNG_HEADER_END])
    return ImageInfo("image/png", "png", width, height)


def _jpeg_info(data: bytes) -> ImageInfo:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != JPEG_MARK:
            raise ScreenshotError("invalid", "JPEG segment out of sync")
        marker = data[pos + 1]
        if marker == JPEG_MARK:
            pos += 1
            continue
        if marker in JPEG_STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):
            break

        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if marker in JPEG_SOF:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return ImageInfo("image/jpeg", "jpg", width, height)
        if length < JPEG_LENGTH_BYTES:
            raise ScreenshotError("invalid", "JPEG segment too short")
        pos += 2 + length

    raise ScreenshotError("invalid", "JPEG without a frame header")


def inspect(data: bytes) -> ImageInfo:
    """Type and size of `data`, or ScreenshotError when it is no image."""
    if data.startswith(PNG_SIGNATURE):
        info = _png_info(data)
    elif data.startswith(JPEG_SIGNATURE):
        info = _jpeg_info(data)
    else:
        raise ScreenshotError(
            "unsupported_type", "only PNG and JPEG images are accepted", 415
        )

    if info.width == 0 or info.height == 0:
        raise ScreenshotError("zero_size", "the image has no pixels")
    if info.width > MAX_SIDE_PX or info.height > MAX_SIDE_PX:
        raise ScreenshotError(
            "too_large", f"sides are limited to {MAX_SIDE_PX} px", 413
        )
    return info


class ScreenshotStore:
    """Validated screenshots in `directory`, under server-chosen names."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes

    def save(self, body: bytes) -> dict[str, object]:
        """Check and store one image; return what the client is told."""
        if not body:
            raise ScreenshotError("empty", "the request body is empty")

        data = decode_body(body)
        if not data:
            raise ScreenshotError("empty", "the image holds no bytes")
        if len(data) > self.max_bytes:
            raise ScreenshotError(
                "too_large", f"images are limited to {self.max_bytes} bytes",
                413,
            )

        info = inspect(data)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        name = f"{stamp}-{secrets.token_hex(4)}"
        path = self.directory / f"{name}.{info.extension}"
        try:
            storage.write_atomic(path, data)
        except OSError as error:
            if storage.is_disk_full(error):
                raise ScreenshotError(
                    "storage_full", "the screenshots store is full", 507
                ) from error
            raise

        logger.info(
            "screenshot saved name=%s type=%s bytes=%d width=%d height=%d",
            path.name, info.type, len(data), info.width, info.height,
        )
        return {
            "name": path.name,
            "type": info.type,
            "bytes": len(data),
            "width": info.width,
            "height": info.height,
        }
