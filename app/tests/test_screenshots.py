"""Screenshots: the bytes' signature decides; sizes come from headers."""

from __future__ import annotations

import base64
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
