"""Screenshots: PNG or JPEG bytes, checked, then stored atomically.

The bytes' own signature decides the type and the extension, never a
header or a file name sent by the client. Width and height come from
the image header (PNG IHDR, JPEG SOFn), must not be zero and must not
pass MAX_SIDE_PX. The image must be whole, or it is refused as
`incomplete`: a PNG needs all its chunks with right CRCs, at least one
IDAT and IEND as its last bytes; a JPEG needs a frame header, a scan
and EOI as its last bytes. A body that does not even hold a readable
header is `invalid`.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import storage

logger = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IHDR_BYTES = 13
PNG_CHUNK_OVERHEAD = 12  # length, type, CRC
PNG_MAX_CHUNK = 2**31 - 1
JPEG_SIGNATURE = b"\xff\xd8\xff"
JPEG_MARK = 0xFF
JPEG_LENGTH_BYTES = 2
JPEG_SOF_BYTES = 8  # length, precision, height, width, components
JPEG_SOI = 0xD8
JPEG_EOI = 0xD9
JPEG_SOS = 0xDA
JPEG_END = b"\xff\xd9"
MAX_SIDE_PX = 16384
# Start-of-frame markers: baseline, progressive, lossless, arithmetic.
JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}
DATA_URL = re.compile(
    rb"data:image/[a-z]+;base64,(?P<payload>[A-Za-z0-9+/=\s]*)"
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

    match = DATA_URL.fullmatch(body)
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


def _incomplete(message: str) -> ScreenshotError:
    return ScreenshotError("incomplete", message)


def _png_info(data: bytes) -> ImageInfo:
    """Width and height from the IHDR chunk, which must come first."""
    ihdr_end = len(PNG_SIGNATURE) + PNG_CHUNK_OVERHEAD + PNG_IHDR_BYTES
    if len(data) < ihdr_end or data[12:16] != b"IHDR":
        raise ScreenshotError("invalid", "PNG without an IHDR header")
    (length,) = struct.unpack(">I", data[8:12])
    if length != PNG_IHDR_BYTES:
        raise ScreenshotError("invalid", "PNG IHDR of a wrong length")
    width, height = struct.unpack(">II", data[16:24])
    return ImageInfo("image/png", "png", width, height)


def _png_check_complete(data: bytes) -> None:
    """Every chunk whole with its CRC, an IDAT, and IEND at the end."""
    pos = len(PNG_SIGNATURE)
    has_data = False
    while True:
        if pos + PNG_CHUNK_OVERHEAD > len(data):
            raise _incomplete("PNG ends before its IEND chunk")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if length > PNG_MAX_CHUNK:
            raise ScreenshotError("invalid", "PNG chunk of a wrong length")
        end = pos + PNG_CHUNK_OVERHEAD + length
        if end > len(data):
            raise _incomplete(f"PNG ends inside a {kind!r} chunk")
        (crc,) = struct.unpack(">I", data[end - 4:end])
        if zlib.crc32(data[pos + 4:end - 4]) != crc:
            raise ScreenshotError(
                "invalid", f"PNG chunk {kind!r} has a wrong CRC"
            )
        if kind == b"IDAT":
            has_data = True
        if kind == b"IEND":
            break
        pos = end

    if not has_data:
        raise _incomplete("PNG without image data (IDAT)")
    if end != len(data):
        raise ScreenshotError("invalid", "PNG with bytes after IEND")


def _jpeg_segments(data: bytes, pos: int) -> tuple[int, int, int]:
    """The marker at `pos` and where its segment and the next start.

    Fill bytes are skipped; a standalone marker has an empty segment.
    """
    while pos + 1 < len(data) and data[pos:pos + 2] == b"\xff\xff":
        pos += 1
    if pos + 2 > len(data):
        raise _incomplete("JPEG ends before its scan")
    if data[pos] != JPEG_MARK:
        raise ScreenshotError("invalid", "JPEG segment out of sync")
    marker = data[pos + 1]
    if marker in JPEG_STANDALONE:
        return marker, pos + 2, pos + 2
    if marker == JPEG_EOI:
        raise _incomplete("JPEG ends before its scan")
    if marker == JPEG_SOI:
        raise ScreenshotError("invalid", "JPEG with a second start marker")
    if pos + 4 > len(data):
        raise _incomplete("JPEG ends inside a segment header")
    (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
    if length < JPEG_LENGTH_BYTES:
        raise ScreenshotError("invalid", "JPEG segment too short")
    end = pos + 2 + length
    if end > len(data):
        raise _incomplete("JPEG ends inside a segment")
    return marker, pos + 4, end


def _jpeg_info(data: bytes) -> tuple[ImageInfo, int]:
    """Width and height from the frame header; where the walk goes on."""
    pos = len(JPEG_SIGNATURE) - 1
    while True:
        try:
            marker, body, end = _jpeg_segments(data, pos)
        except ScreenshotError as error:
            if error.code == "incomplete":
                raise ScreenshotError(
                    "invalid", "JPEG without a frame header"
                ) from error
            raise
        if marker == JPEG_SOS:
            raise ScreenshotError("invalid", "JPEG scan before its frame")
        if marker in JPEG_SOF:
            if end - body < JPEG_SOF_BYTES - JPEG_LENGTH_BYTES:
                raise ScreenshotError("invalid", "JPEG frame header short")
            height, width = struct.unpack(">HH", data[body + 1:body + 5])
            return ImageInfo("image/jpeg", "jpg", width, height), end
        pos = end


def _jpeg_check_complete(data: bytes, pos: int) -> None:
    """A scan after the frame header, and EOI as the last bytes."""
    while True:
        marker, _, end = _jpeg_segments(data, pos)
        if marker == JPEG_SOS:
            break
        pos = end
    if not data.endswith(JPEG_END) or len(data) < end + len(JPEG_END):
        raise _incomplete("JPEG without its end-of-image marker")


def _check_size(info: ImageInfo) -> None:
    if info.width == 0 or info.height == 0:
        raise ScreenshotError("zero_size", "the image has no pixels")
    if info.width > MAX_SIDE_PX or info.height > MAX_SIDE_PX:
        raise ScreenshotError(
            "too_large",
            f"the image is {info.width}x{info.height} px; sides are "
            f"limited to {MAX_SIDE_PX} px",
            413,
        )


def inspect(data: bytes) -> ImageInfo:
    """Type and size of `data`, or ScreenshotError unless a whole image."""
    if data.startswith(PNG_SIGNATURE):
        info = _png_info(data)
        _check_size(info)
        _png_check_complete(data)
    elif data.startswith(JPEG_SIGNATURE):
        info, pos = _jpeg_info(data)
        _check_size(info)
        _jpeg_check_complete(data, pos)
    else:
        raise ScreenshotError(
            "unsupported_type", "only PNG and JPEG images are accepted", 415
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
