"""Screenshots: the bytes' signature decides; sizes come from headers."""

from __future__ import annotations

import base64
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from media import make_png
from parley.screenshots import ScreenshotError, ScreenshotStore, inspect


def test_png_size_comes_from_ihdr() -> None:
    info = inspect(make_png(40, 30))

    assert (info.type, info.extension) == ("image/png", "png")
    assert (info.width, info.height) == (40, 30)


def test_jpeg_size_comes_from_sof(jpeg_bytes: bytes) -> None:
    info = inspect(jpeg_bytes)

    assert (info.type, info.extension) == ("image/jpeg", "jpg")
    assert (info.width, info.height) == (64, 48)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (make_png(0, 10), "zero_size"),
        (make_png(10, 0), "zero_size"),
        (make_png(10, 10)[:20], "invalid"),
        (b"GIF89a" + b"\x00" * 20, "unsupported_type"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "unsupported_type"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "invalid"),
        (b"\xff\xd8\xff\xe0\x00\x01", "invalid"),
    ],
)
def test_bad_images_are_refused(data: bytes, code: str) -> None:
    with pytest.raises(ScreenshotError) as refused:
        inspect(data)

    assert refused.value.code == code


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _header_only_png(width: int, height: int) -> bytes:
    """Signature, IHDR and IEND, all with right CRCs, but no IDAT."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b"")
    )


def _corrupt_crc(data: bytes) -> bytes:
    ihdr_crc = 8 + 8 + 13
    return data[:ihdr_crc] + b"\0\0\0\0" + data[ihdr_crc + 4:]


def _jpeg_without(data: bytes, marker: bytes) -> bytes:
    """`data` with the first segment of `marker` cut out."""
    start = data.index(marker)
    (length,) = struct.unpack(">H", data[start + 2:start + 4])
    return data[:start] + data[start + 2 + length:]


@pytest.mark.parametrize(
    "cut",
    [
        lambda png: png[:-12],  # IEND missing
        lambda png: png[:-20],  # IDAT cut short
        lambda png: png[:33],  # header only, IHDR and no more
        lambda png: png[:len(png) // 2],
    ],
)
def test_truncated_png_is_incomplete(cut: object) -> None:
    data = cut(make_png(64, 48))  # type: ignore[operator]

    with pytest.raises(ScreenshotError) as refused:
        inspect(data)

    assert refused.value.code == "incomplete"
    assert refused.value.status == 400


def test_png_without_image_data_is_incomplete() -> None:
    with pytest.raises(ScreenshotError) as refused:
        inspect(_header_only_png(64, 48))

    assert refused.value.code == "incomplete"


@pytest.mark.parametrize(
    "data",
    [
        _corrupt_crc(make_png(8, 8)),
        make_png(8, 8) + b"trailing",
    ],
)
def test_corrupt_png_is_invalid(data: bytes) -> None:
    with pytest.raises(ScreenshotError) as refused:
        inspect(data)

    assert refused.value.code == "invalid"


@pytest.mark.parametrize("cut", [2, 100, 400])
def test_truncated_jpeg_is_incomplete(jpeg_bytes: bytes, cut: int) -> None:
    with pytest.raises(ScreenshotError) as refused:
        inspect(jpeg_bytes[:-cut])

    assert refused.value.code == "incomplete"


def test_jpeg_header_without_a_scan_is_incomplete(jpeg_bytes: bytes) -> None:
    header = jpeg_bytes[:jpeg_bytes.index(b"\xff\xda")]

    for data in (header, header + b"\xff\xd9"):
        with pytest.raises(ScreenshotError) as refused:
            inspect(data)
        assert refused.value.code == "incomplete"


def test_jpeg_without_a_frame_header_is_invalid(jpeg_bytes: bytes) -> None:
    with pytest.raises(ScreenshotError) as refused:
        inspect(_jpeg_without(jpeg_bytes, b"\xff\xc0"))

    assert refused.value.code == "invalid"


@pytest.mark.parametrize(
    ("width", "height"), [(16385, 1), (1, 16385), (100000, 100000)]
)
def test_absurd_sides_are_refused(width: int, height: int) -> None:
    with pytest.raises(ScreenshotError) as refused:
        inspect(_header_only_png(width, height))

    assert refused.value.code == "too_large"
    assert refused.value.status == 413
    assert f"{width}x{height}" in refused.value.message


def test_png_made_by_ffmpeg_passes(tmp_path: Path) -> None:
    path = tmp_path / "frame.png"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi",
         "-i", "testsrc2=size=1280x720", "-frames:v", "1", str(path)],
        check=True,
    )

    info = inspect(path.read_bytes())

    assert (info.type, info.width, info.height) == ("image/png", 1280, 720)


def test_store_writes_under_a_server_name(tmp_path: Path) -> None:
    store = ScreenshotStore(tmp_path, max_bytes=1 << 20)

    answer = store.save(make_png(8, 6))

    assert answer["type"] == "image/png"
    name = str(answer["name"])
    assert name.endswith(".png")
    assert (tmp_path / name).read_bytes() == make_png(8, 6)
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_data_url_type_is_decided_by_bytes(
    tmp_path: Path, jpeg_bytes: bytes
) -> None:
    store = ScreenshotStore(tmp_path, max_bytes=1 << 20)
    body = b"data:image/png;base64," + base64.b64encode(jpeg_bytes)

    answer = store.save(body)

    assert answer["type"] == "image/jpeg"
    assert str(answer["name"]).endswith(".jpg")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty"),
        (b"data:image/png;base64,", "empty"),
        (b"data:image/png;base64,@@@notbase64", "invalid"),
        (b"data:image/png;base64,iVBORw0KGgo", "invalid"),
        (b"data:text/html,<b>x</b>", "invalid"),
    ],
)
def test_bad_bodies_store_nothing(
    tmp_path: Path, body: bytes, code: str
) -> None:
    store = ScreenshotStore(tmp_path, max_bytes=1 << 20)

    with pytest.raises(ScreenshotError) as refused:
        store.save(body)

    assert refused.value.code == code
    assert list(tmp_path.iterdir()) == []


def test_image_over_the_limit_is_refused(tmp_path: Path) -> None:
    data = make_png(200, 200)
    store = ScreenshotStore(tmp_path, max_bytes=len(data) - 1)

    with pytest.raises(ScreenshotError) as refused:
        store.save(data)

    assert refused.value.status == 413
    assert list(tmp_path.iterdir()) == []
