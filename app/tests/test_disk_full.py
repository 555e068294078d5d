"""Finalizing a recording on a disk that fills up: a real small tmpfs.

ffmpeg can exit 0 after "Error writing trailer: No space left on
device", leaving a truncated file that ffprobe still reads a duration
from. Nothing of that kind may be presented as a whole recording.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from media import split
from parley.recordings import Recording, RecordingStore

MIME = "video/webm;codecs=vp8,opus"
TMPFS_SIZE = "4m"
PAGE = 4096
FILL_BLOCK = 1 << 20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of its own, unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs",
         str(mount)],
        check=True,
    )
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def _fill(directory: Path, leave: int) -> None:
    """Use up the space of `directory`'s file system but `leave` bytes."""
    stat = os.statvfs(directory)
    remaining = stat.f_bavail * stat.f_frsize - leave
    assert remaining >= 0
    with open(directory / "filler", "wb") as handle:
        while remaining > 0:
            block = min(remaining, FILL_BLOCK)
            handle.write(b"\0" * block)
            remaining -= block


def _record(store: RecordingStore, live_webm: bytes) -> Recording:
    recording = store.start("lab", "sid-a", MIME)
    chunks = split(live_webm, 4)
    for seq, chunk in enumerate(chunks):
        store.put_chunk(recording.id, recording.token, seq, chunk)
    store.stop(recording, len(chunks))
    return recording


def _remuxed_size(source: bytes, work: Path) -> int:
    raw = work / "raw.webm"
    raw.write_bytes(source)
    out = work / "out.webm"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(raw),
         "-map", "0", "-c", "copy", "-f", "webm", str(out)],
        check=True,
    )
    return out.stat().st_size


def _leftovers(directory: Path) -> list[str]:
    return sorted(
        p.name for p in directory.iterdir() if p.name.startswith(".")
    )


def test_trailer_cut_by_a_full_disk_is_not_saved(
    small_disk: Path, live_webm: bytes
) -> None:
    store = RecordingStore(small_disk / "rec")
    (small_disk / "rec").mkdir()
    recording = _record(store, live_webm)
    # Room for a part of the remuxed file only: ffmpeg buffers it all,
    # then fails writing the trailer, and still exits 0.
    _fill(small_disk, len(live_webm) - 5 * PAGE)

    store.finalize(recording, grace=0.0)

    paths = store.paths(recording.id)
    assert recording.error is not None
    assert recording.error.code == "finalize_failed"
    assert "No space left" in recording.error.message
    assert not paths["webm"].exists()
    assert _leftovers(small_disk / "rec") == []
    assert paths["part"].read_bytes() == live_webm
    sidecar = json.loads(paths["json"].read_text())
    assert sidecar["status"] == "failed"
    assert sidecar["file"] == paths["part"].name


def test_no_video_stands_without_its_sidecar(
    small_disk: Path, live_webm: bytes, tmp_path: Path
) -> None:
    store = RecordingStore(small_disk / "rec")
    (small_disk / "rec").mkdir()
    recording = _record(store, live_webm)
    # Exactly the pages of the remuxed file: the video fits, its
    # sidecar then does not.
    size = _remuxed_size(live_webm, tmp_path)
    _fill(small_disk, math.ceil(size / PAGE) * PAGE)

    store.finalize(recording, grace=0.0)

    paths = store.paths(recording.id)
    assert recording.error is not None
    assert not paths["webm"].exists()
    assert _leftovers(small_disk / "rec") == []
    assert paths["part"].read_bytes() == live_webm
    assert json.loads(paths["json"].read_text())["status"] == "failed"


def test_full_disk_without_room_for_a_sidecar_keeps_the_raw_file(
    small_disk: Path, live_webm: bytes
) -> None:
    store = RecordingStore(small_disk / "rec")
    (small_disk / "rec").mkdir()
    recording = _record(store, live_webm)
    _fill(small_disk, 0)

    store.finalize(recording, grace=0.0)

    paths = store.paths(recording.id)
    assert recording.error is not None
    assert recording.error.code == "finalize_failed"
    assert not paths["webm"].exists()
    assert not paths["json"].exists()
    assert _leftovers(small_disk / "rec") == []
    assert paths["part"].read_bytes() == live_webm
