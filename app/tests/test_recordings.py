"""Recording store: order, repeats, gaps, finalization with ffmpeg."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from media import CUES_ID, split
from parley.recordings import (
    MAX_AHEAD_CHUNKS,
    MAX_SEQ,
    Recording,
    RecordingError,
    RecordingStore,
)

MIME = "video/webm;codecs=vp8,opus"


@pytest.fixture
def store(tmp_path: Path) -> RecordingStore:
    return RecordingStore(tmp_path)


@pytest.fixture
def recording(store: RecordingStore) -> Recording:
    return store.start("lab", "sid-a", MIME)


def _put(store: RecordingStore, rec: Recording, seq: int, data: bytes) -> bool:
    return store.put_chunk(rec.id, rec.token, seq, data).duplicate


def test_out_of_order_chunks_land_in_order(
    store: RecordingStore, recording: Recording
) -> None:
    for seq in (1, 3, 0, 2):
        _put(store, recording, seq, f"<{seq}>".encode())

    part = store.paths(recording.id)["part"]
    assert part.read_bytes() == b"<0><1><2><3>"
    assert not any(store.paths(recording.id)["held"].iterdir())


def test_repeated_chunk_is_acknowledged_and_ignored(
    store: RecordingStore, recording: Recording
) -> None:
    assert _put(store, recording, 0, b"first") is False
    assert _put(store, recording, 0, b"again") is True
    assert _put(store, recording, 2, b"held") is False
    assert _put(store, recording, 2, b"held") is True

    part = store.paths(recording.id)["part"]
    assert part.read_bytes() == b"first"
    assert recording.chunks == 1


def test_wrong_token_is_refused(
    store: RecordingStore, recording: Recording
) -> None:
    with pytest.raises(RecordingError) as refused:
        store.put_chunk(recording.id, "guess", 0, b"x")

    assert refused.value.status == 401
    assert store.paths(recording.id)["part"].read_bytes() == b""


@pytest.mark.parametrize(
    "rec_id",
    ["../etc/passwd", "A" * 32, "", "0" * 31, "0" * 32 + "/x",
     "0" * 32 + "\n"],
)
def test_ids_cannot_name_other_files(
    store: RecordingStore, rec_id: str
) -> None:
    with pytest.raises(RecordingError) as refused:
        store.put_chunk(rec_id, "t", 0, b"x")

    assert refused.value.code in ("invalid", "unknown")


def test_chunks_too_far_ahead_are_refused(
    store: RecordingStore, recording: Recording
) -> None:
    _put(store, recording, 0, b"x")
    _put(store, recording, MAX_AHEAD_CHUNKS, b"x")

    for seq in (MAX_AHEAD_CHUNKS + 1, MAX_SEQ - 1):
        with pytest.raises(RecordingError) as refused:
            _put(store, recording, seq, b"x")
        assert refused.value.code == "too_far_ahead"
        assert refused.value.status == 409

    assert recording.held == {MAX_AHEAD_CHUNKS}


def test_huge_claimed_count_is_one_gap_range_and_quick(
    store: RecordingStore, recording: Recording, live_webm: bytes
) -> None:
    _put(store, recording, 0, live_webm)
    store.stop(recording, MAX_SEQ)

    began = time.monotonic()
    store.finalize(recording, grace=0.0)

    assert time.monotonic() - began < 10.0
    assert recording.error is None
    assert recording.result is not None
    assert recording.result["gaps"] == [[1, MAX_SEQ - 1]]


def test_chunks_beyond_the_stopped_count_are_not_appended(
    store: RecordingStore, recording: Recording, live_webm: bytes
) -> None:
    chunks = split(live_webm, 4)
    for seq in (0, 1, 3):
        _put(store, recording, seq, chunks[seq])

    store.stop(recording, 2)
    with pytest.raises(RecordingError) as refused:
        _put(store, recording, 2, chunks[2])
    store.finalize(recording, grace=0.0)

    assert refused.value.code == "closed"
    assert recording.error is None
    sidecar = json.loads(store.paths(recording.id)["json"].read_text())
    assert sidecar["raw_bytes"] == len(chunks[0]) + len(chunks[1])
    assert sidecar["chunks"] == 2
    assert sidecar["gaps"] == []
    assert not store.paths(recording.id)["held"].exists()


@pytest.mark.parametrize(
    "mime",
    ["video/mp4", "text/html", "", None, "video/webm;codecs=<x>",
     "video/webm\n", "video/webm;codecs=vp8\n"],
)
def test_only_webm_can_be_recorded(
    store: RecordingStore, mime: object
) -> None:
    with pytest.raises(RecordingError) as refused:
        store.start("lab", "sid-a", mime)

    assert refused.value.code == "invalid"


def test_finalize_remuxes_into_a_seekable_webm(
    store: RecordingStore, recording: Recording, live_webm: bytes
) -> None:
    chunks = split(live_webm, 6)
    for seq in (0, 2, 1, 1, 3, 5, 4):
        _put(store, recording, seq, chunks[seq])

    store.stop(recording, len(chunks))
    store.finalize(recording, grace=0.0)

    paths = store.paths(recording.id)
    assert recording.error is None
    assert recording.result is not None
    assert recording.result["file"] == f"{recording.id}.webm"
    assert CUES_ID not in live_webm
    assert CUES_ID in paths["webm"].read_bytes()
    assert not paths["part"].exists()
    sidecar = json.loads(paths["json"].read_text())
    assert sidecar["chunks"] == 6
    assert sidecar["gaps"] == []
    assert sidecar["room"] == "lab"
    assert sidecar["mime"] == MIME
    assert sidecar["duration"] >= 4.0


def test_missing_chunk_is_recorded_as_gap(
    store: RecordingStore, recording: Recording, live_webm: bytes
) -> None:
    chunks = split(live_webm, 8)
    for seq, chunk in enumerate(chunks):
        if seq != 5:
            _put(store, recording, seq, chunk)

    store.stop(recording, len(chunks))
    store.finalize(recording, grace=0.2)

    sidecar = json.loads(store.paths(recording.id)["json"].read_text())
    assert recording.error is None
    assert sidecar["gaps"] == [[5, 5]]
    assert sidecar["chunks"] == 7


def test_gaps_are_ranges(
    store: RecordingStore, recording: Recording, live_webm: bytes
) -> None:
    chunks = split(live_webm, 10)
    for seq, chunk in enumerate(chunks):
        if seq not in (2, 3, 4, 7):
            _put(store, recording, seq, chunk)

    store.stop(recording, 12)
    store.finalize(recording, grace=0.0)

    assert recording.error is None
    assert recording.result is not None
    assert recording.result["gaps"] == [[2, 4], [7, 7], [10, 11]]
    assert recording.result["chunks"] == 6


def test_repeated_stop_keeps_the_first_outcome(
    store: RecordingStore, recording: Recording, live_webm: bytes
) -> None:
    _put(store, recording, 0, live_webm)

    assert store.stop(recording, 1) is True
    assert store.stop(recording, 5) is False
    store.finalize(recording, grace=0.0)
    assert store.stop(recording, 1) is False

    kept = store.authorize(recording.id, recording.token, finished=True)
    assert kept is recording
    assert kept.result is not None
    assert kept.result["gaps"] == []
    with pytest.raises(RecordingError) as refused:
        store.get(recording.id)
    assert refused.value.code == "unknown"


def test_chunk_after_finalize_is_refused(
    store: RecordingStore, recording: Recording, live_webm: bytes
) -> None:
    _put(store, recording, 0, live_webm)
    store.stop(recording, 1)
    store.finalize(recording, grace=0.0)

    with pytest.raises(RecordingError) as refused:
        _put(store, recording, 1, b"late")

    assert refused.value.code == "unknown"


def test_empty_recording_fails_cleanly(
    store: RecordingStore, recording: Recording
) -> None:
    store.stop(recording, 0)
    store.finalize(recording, grace=0.0)

    assert recording.error is not None
    assert recording.error.code == "empty"
    assert not store.paths(recording.id)["part"].exists()


def test_unreadable_stream_keeps_the_raw_file(
    store: RecordingStore, recording: Recording
) -> None:
    _put(store, recording, 0, b"not a webm stream at all")
    store.stop(recording, 1)
    store.finalize(recording, grace=0.0)

    paths = store.paths(recording.id)
    assert recording.error is not None
    assert recording.error.code == "finalize_failed"
    assert paths["part"].read_bytes() == b"not a webm stream at all"
    assert not paths["webm"].exists()
    assert json.loads(paths["json"].read_text())["status"] == "failed"
