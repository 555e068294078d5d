"""Per-recording caps: bytes, duration, recordings open per connection.

The store is driven directly, on a clock the test moves; then the same
caps are met through real gunicorn, over HTTP and socket.io.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import Server, start_server, stop_server
from media import split
from parley.recordings import Recording, RecordingError, RecordingStore
from peers import Peer

MIME = "video/webm;codecs=vp8,opus"
MAX_SECONDS = 60.0
SERVER_MAX_SECONDS = 10
SIDECAR_DEADLINE_S = 30.0


class Clock:
    """A monotonic clock that moves only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _store(
    directory: Path, clock: Clock, max_bytes: int = 10**9, per_client: int = 2
) -> RecordingStore:
    return RecordingStore(
        directory,
        max_bytes=max_bytes,
        max_seconds=MAX_SECONDS,
        per_client=per_client,
        clock=clock,
    )


def _put(store: RecordingStore, rec: Recording, seq: int, data: bytes) -> None:
    store.put_chunk(rec.id, rec.token, seq, data)


def _sidecar(store: RecordingStore, rec: Recording) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        store.paths(rec.id)["json"].read_text()
    )
    return loaded


def test_chunk_past_the_byte_cap_ends_the_recording_without_it(
    tmp_path: Path, clock: Clock, live_webm: bytes
) -> None:
    chunks = split(live_webm, 6)
    store = _store(tmp_path, clock, max_bytes=len(live_webm) - 1)
    rec = store.start("lab", "sid-a", MIME)
    for seq in range(5):
        _put(store, rec, seq, chunks[seq])

    with pytest.raises(RecordingError) as refused:
        _put(store, rec, 5, chunks[5])

    assert refused.value.code == "recording_too_large"
    assert refused.value.status == 413
    assert rec.finished.is_set()
    assert rec.error is None
    sidecar = _sidecar(store, rec)
    assert sidecar["ended"] == "size_cap"
    assert sidecar["chunks"] == 5
    assert sidecar["gaps"] == []
    assert store.paths(rec.id)["webm"].is_file()
    assert not store.paths(rec.id)["part"].exists()


def test_every_chunk_after_the_cap_gets_the_same_refusal(
    tmp_path: Path, clock: Clock, live_webm: bytes
) -> None:
    chunks = split(live_webm, 6)
    store = _store(tmp_path, clock, max_bytes=len(live_webm) - 1)
    rec = store.start("lab", "sid-a", MIME)
    for seq in range(5):
        _put(store, rec, seq, chunks[seq])
    with pytest.raises(RecordingError):
        _put(store, rec, 5, chunks[5])

    for seq in (5, 6):
        with pytest.raises(RecordingError) as refused:
            _put(store, rec, seq, b"more")
        assert refused.value.code == "recording_too_large"

    assert _sidecar(store, rec)["chunks"] == 5


def test_a_stored_chunk_sent_again_after_the_cap_is_a_repeat(
    tmp_path: Path, clock: Clock, live_webm: bytes
) -> None:
    chunks = split(live_webm, 6)
    store = _store(tmp_path, clock, max_bytes=len(live_webm) - 1)
    rec = store.start("lab", "sid-a", MIME)
    for seq in range(5):
        _put(store, rec, seq, chunks[seq])
    with pytest.raises(RecordingError):
        _put(store, rec, 5, chunks[5])

    ack = store.put_chunk(rec.id, rec.token, 2, chunks[2])

    assert ack.duplicate
    assert _sidecar(store, rec)["chunks"] == 5


def test_chunks_held_out_of_order_count_towards_the_byte_cap(
    tmp_path: Path, clock: Clock
) -> None:
    spawned: list[tuple[object, ...]] = []
    store = RecordingStore(
        tmp_path, max_bytes=100, clock=clock,
        spawn=lambda *call: spawned.append(call),
    )
    rec = store.start("lab", "sid-a", MIME)
    _put(store, rec, 2, b"x" * 60)

    with pytest.raises(RecordingError) as refused:
        _put(store, rec, 3, b"y" * 60)

    assert refused.value.code == "recording_too_large"
    assert rec.state == "stopping"
    assert rec.expected == 3
    assert rec.ended == "size_cap"
    assert spawned == [(store.finalize, rec, 0.0)]


def test_a_repeated_chunk_never_counts_twice(
    tmp_path: Path, clock: Clock
) -> None:
    store = _store(tmp_path, clock, max_bytes=100)
    rec = store.start("lab", "sid-a", MIME)
    _put(store, rec, 0, b"x" * 60)

    for _ in range(3):
        _put(store, rec, 0, b"x" * 60)

    assert rec.state == "recording"
    assert rec.raw_bytes == 60


def test_chunk_after_the_time_cap_ends_the_recording(
    tmp_path: Path, clock: Clock, live_webm: bytes
) -> None:
    store = _store(tmp_path, clock)
    rec = store.start("lab", "sid-a", MIME)
    _put(store, rec, 0, live_webm)
    clock.now += MAX_SECONDS + 1

    with pytest.raises(RecordingError) as refused:
        _put(store, rec, 1, b"late")

    assert refused.value.code == "recording_too_long"
    assert refused.value.status == 409
    sidecar = _sidecar(store, rec)
    assert sidecar["ended"] == "duration_cap"
    assert sidecar["chunks"] == 1


def test_time_cap_spares_chunks_that_trail_a_stop(
    tmp_path: Path, clock: Clock, live_webm: bytes
) -> None:
    chunks = split(live_webm, 2)
    store = _store(tmp_path, clock)
    rec = store.start("lab", "sid-a", MIME)
    _put(store, rec, 0, chunks[0])
    assert store.stop(rec, 2) is True
    clock.now += MAX_SECONDS + 1

    _put(store, rec, 1, chunks[1])
    store.finalize(rec, grace=0.0)

    assert rec.error is None
    sidecar = _sidecar(store, rec)
    assert sidecar["ended"] == "stop"
    assert sidecar["chunks"] == 2


def test_overdue_lists_only_recordings_under_way_past_the_cap(
    tmp_path: Path, clock: Clock
) -> None:
    store = _store(tmp_path, clock)
    old = store.start("lab", "sid-a", MIME)
    stopped = store.start("lab", "sid-b", MIME)
    store.stop(stopped, 0)
    clock.now += MAX_SECONDS / 2
    young = store.start("lab", "sid-c", MIME)
    clock.now += MAX_SECONDS / 2 + 1

    overdue = store.overdue()

    assert overdue == [old]
    assert young not in store.idle(MAX_SECONDS)


def test_one_connection_opens_per_client_recordings_at_most(
    tmp_path: Path, clock: Clock
) -> None:
    store = _store(tmp_path, clock, per_client=2)
    first = store.start("lab", "sid-a", MIME)
    store.start("lab", "sid-a", MIME)

    with pytest.raises(RecordingError) as refused:
        store.start("lab", "sid-a", MIME)

    assert refused.value.code == "too_many_recordings"
    assert len(list(tmp_path.glob("*.part"))) == 2
    store.start("lab", "sid-b", MIME)
    store.stop(first, 0)
    store.start("lab", "sid-a", MIME)


def test_caps_must_be_positive(tmp_path: Path) -> None:
    for caps in ({"max_bytes": 0}, {"max_seconds": 0}, {"per_client": 0}):
        with pytest.raises(ValueError, match="positive"):
            RecordingStore(tmp_path, **caps)  # type: ignore[arg-type]


# --- through the server ----------------------------------------------------


@pytest.fixture(scope="module")
def capped_server(
    tmp_path_factory: pytest.TempPathFactory, live_webm: bytes
) -> Iterator[Server]:
    """Recordings end one byte short of `live_webm`, or after 10 s."""
    running, process = start_server(
        tmp_path_factory.mktemp("capped"),
        {
            "PARLEY_MAX_RECORDING_BYTES": str(len(live_webm) - 1),
            "PARLEY_MAX_RECORDING_SECONDS": str(SERVER_MAX_SECONDS),
            "PARLEY_MAX_RECORDINGS_PER_CLIENT": "1",
        },
    )
    yield running
    stop_server(process)


@pytest.fixture
def capped_peer(capped_server: Server) -> Iterator[Peer]:
    peer = Peer(capped_server.url)
    ack = peer.call("join", {"room": f"caps-{time.monotonic_ns()}",
                             "name": "Cap"})
    assert ack["ok"] is True
    yield peer
    peer.close()


def _http_put(
    server: Server, rec: dict[str, Any], seq: int, body: bytes
) -> requests.Response:
    return requests.put(
        f"{server.url}/api/recordings/{rec['id']}/chunks/{seq}",
        data=body,
        headers={"Authorization": f"Bearer {rec['token']}"},
        timeout=30,
    )


def test_server_refuses_the_chunk_past_the_byte_cap_and_saves_the_rest(
    capped_server: Server, capped_peer: Peer, live_webm: bytes
) -> None:
    chunks = split(live_webm, 6)
    rec = capped_peer.call("record-start", {"mime": MIME})
    for seq in range(5):
        assert _http_put(capped_server, rec, seq, chunks[seq]).ok

    refused = _http_put(capped_server, rec, 5, chunks[5])
    stop = capped_peer.call(
        "record-stop", {"id": rec["id"], "chunks": 6}, timeout=60
    )

    assert refused.status_code == 413
    assert refused.json()["error"] == "recording_too_large"
    assert stop["ok"] is True
    assert stop["ended"] == "size_cap"
    assert stop["chunks"] == 5
    assert (capped_server.recordings / f"{rec['id']}.webm").is_file()


def test_server_ends_a_recording_at_its_time_cap_unasked(
    capped_server: Server, capped_peer: Peer, live_webm: bytes
) -> None:
    rec = capped_peer.call("record-start", {"mime": MIME})
    assert _http_put(capped_server, rec, 0, split(live_webm, 2)[0]).ok

    sidecar_path = capped_server.recordings / f"{rec['id']}.json"
    deadline = time.monotonic() + SERVER_MAX_SECONDS + SIDECAR_DEADLINE_S
    while not sidecar_path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    late = _http_put(capped_server, rec, 1, b"late")

    sidecar = json.loads(sidecar_path.read_text())
    assert sidecar["ended"] == "duration_cap"
    assert sidecar["chunks"] == 1
    assert late.status_code == 409
    assert late.json()["error"] == "recording_too_long"


def test_server_refuses_a_second_recording_on_one_connection(
    capped_peer: Peer,
) -> None:
    first = capped_peer.call("record-start", {"mime": MIME})

    second = capped_peer.call("record-start", {"mime": MIME})
    capped_peer.call("record-stop", {"id": first["id"], "chunks": 0})
    third = capped_peer.call("record-start", {"mime": MIME})

    assert first["ok"] is True
    assert second["ok"] is False
    assert second["error"] == "too_many_recordings"
    assert third["ok"] is True
