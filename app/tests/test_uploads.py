"""Recording chunks and screenshots over HTTP, against real gunicorn."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conftest import (
    CHUNK_LIMIT,
    ORIGIN,
    SCREENSHOT_LIMIT,
    Server,
    start_server,
    stop_server,
)
from media import CUES_ID, make_png, split
from peers import Peer

MIME = "video/webm;codecs=vp8,opus"
IDLE_DEADLINE_S = 20.0


def _put(
    server: Server, rec: dict[str, Any], seq: int, body: bytes,
    token: str | None = None,
) -> requests.Response:
    return requests.put(
        f"{server.url}/api/recordings/{rec['id']}/chunks/{seq}",
        data=body,
        headers={"Authorization": f"Bearer {token or rec['token']}"},
        timeout=10,
    )


def _probe_duration(path: str) -> float:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration",
         "-of", "json", path],
        capture_output=True, check=True,
    )
    return float(json.loads(done.stdout)["format"]["duration"])


def test_recording_in_chunks_becomes_a_seekable_webm(
    server: Server, recorder: Peer, live_webm: bytes
) -> None:
    rec = recorder.call("record-start", {"mime": MIME})
    chunks = split(live_webm, 10)

    acks = [_put(server, rec, seq, chunks[seq]) for seq in
            (0, 2, 1, 1, 3, 4, 6, 5, 7, 8, 9)]
    stop = recorder.call(
        "record-stop", {"id": rec["id"], "chunks": len(chunks)}, timeout=60
    )

    assert [a.status_code for a in acks] == [200] * 11
    assert acks[3].json()["duplicate"] is True
    assert acks[1].json() == {"id": rec["id"], "seq": 2,
                              "bytes": len(chunks[2]), "duplicate": False}
    assert stop["ok"] is True
    assert stop["file"] == f"{rec['id']}.webm"
    assert stop["chunks"] == 10
    webm = server.recordings / stop["file"]
    assert _probe_duration(str(webm)) >= 4.0
    assert CUES_ID in webm.read_bytes()
    assert not (server.recordings / f"{rec['id']}.part").exists()
    sidecar = json.loads((server.recordings / f"{rec['id']}.json")
                         .read_text())
    assert sidecar["bytes"] == webm.stat().st_size
    assert sidecar["chunks"] == 10
    assert sidecar["gaps"] == []
    assert sidecar["mime"] == MIME
    assert sidecar["room"].startswith("rec-")
    assert sidecar["start"] <= sidecar["end"]


def test_lost_chunk_is_a_gap_in_the_sidecar(
    server: Server, recorder: Peer, live_webm: bytes
) -> None:
    rec = recorder.call("record-start", {"mime": MIME})
    chunks = split(live_webm, 6)
    for seq, chunk in enumerate(chunks):
        if seq != 3:
            assert _put(server, rec, seq, chunk).status_code == 200

    stop = recorder.call(
        "record-stop", {"id": rec["id"], "chunks": len(chunks)}, timeout=60
    )

    assert stop["ok"] is True
    assert stop["gaps"] == [[3, 3]]
    sidecar = json.loads((server.recordings / f"{rec['id']}.json")
                         .read_text())
    assert sidecar["gaps"] == [[3, 3]]


def test_stop_after_reconnect_needs_the_token(
    server: Server, recorder: Peer, live_webm: bytes
) -> None:
    rec = recorder.call("record-start", {"mime": MIME})
    assert _put(server, rec, 0, live_webm).status_code == 200
    other = Peer(server.url)
    try:
        without = other.call("record-stop", {"id": rec["id"], "chunks": 1})
        with_token = other.call(
            "record-stop",
            {"id": rec["id"], "chunks": 1, "token": rec["token"]},
            timeout=60,
        )
    finally:
        other.close()

    assert without["ok"] is False
    assert without["error"] == "unauthorized"
    assert with_token["ok"] is True


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "code"),
    [
        ("{id}/chunks/0", {}, b"x", 401, "unauthorized"),
        ("{id}/chunks/0", {"Authorization": "Bearer nope"}, b"x", 401,
         "unauthorized"),
        ("{id}/chunks/0", {"Authorization": "Basic {token}"}, b"x", 401,
         "unauthorized"),
        ("{id}/chunks/0", {"Authorization": "Bearer {token}"}, b"", 400,
         "empty"),
        ("{id}/chunks/0", {"Authorization": "Bearer {token}"},
         b"x" * (CHUNK_LIMIT + 1), 413, "too_large"),
        ("{id}/chunks/0", {"Authorization": "Bearer {token}",
                           "Origin": "https://evil.example"}, b"x", 403,
         "origin_not_allowed"),
        ("{id}/chunks/-1", {"Authorization": "Bearer {token}"}, b"x", 404,
         "not_found"),
        ("{id}/chunks/99999999", {"Authorization": "Bearer {token}"}, b"x",
         400, "invalid"),
        ("ffffffffffffffffffffffffffffffff/chunks/0",
         {"Authorization": "Bearer {token}"}, b"x", 404, "unknown"),
        ("..%2f..%2fetc/chunks/0", {"Authorization": "Bearer {token}"},
         b"x", 404, "not_found"),
        ("ZZ{id}/chunks/0", {"Authorization": "Bearer {token}"}, b"x", 400,
         "invalid"),
    ],
)
def test_bad_chunk_requests_get_json_errors(
    server: Server, recorder: Peer, path: str, headers: dict[str, str],
    body: bytes, status: int, code: str,
) -> None:
    rec = recorder.call("record-start", {"mime": MIME})
    filled = {k: v.format(**rec) for k, v in headers.items()}

    answer = requests.put(
        f"{server.url}/api/recordings/{path.format(**rec)}",
        data=body, headers=filled, timeout=10,
    )

    assert answer.status_code == status
    assert answer.json()["error"] == code
    assert answer.json()["message"]
    assert (server.recordings / f"{rec['id']}.part").read_bytes() == b""


def test_chunk_after_stop_is_refused(
    server: Server, recorder: Peer, live_webm: bytes
) -> None:
    rec = recorder.call("record-start", {"mime": MIME})
    _put(server, rec, 0, live_webm)
    recorder.call("record-stop", {"id": rec["id"], "chunks": 1}, timeout=60)

    late = _put(server, rec, 1, b"late")

    assert late.status_code == 404
    assert late.json()["error"] == "unknown"


def test_screenshot_png_is_stored(server: Server) -> None:
    answer = requests.post(
        f"{server.url}/api/screenshots", data=make_png(32, 24),
        headers={"Content-Type": "image/png", "Origin": ORIGIN}, timeout=10,
    )

    assert answer.status_code == 201
    body = answer.json()
    assert body["type"] == "image/png"
    assert (body["width"], body["height"]) == (32, 24)
    assert (server.screenshots / body["name"]).read_bytes() == make_png(
        32, 24
    )


def test_screenshot_type_comes_from_bytes(
    server: Server, jpeg_bytes: bytes
) -> None:
    answer = requests.post(
        f"{server.url}/api/screenshots", data=jpeg_bytes,
        headers={"Content-Type": "image/png"}, timeout=10,
    )

    assert answer.status_code == 201
    assert answer.json()["type"] == "image/jpeg"
    assert answer.json()["name"].endswith(".jpg")


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"", {}, 400, "empty"),
        (make_png(0, 24), {}, 400, "zero_size"),
        (b"\x00" * 100, {}, 415, "unsupported_type"),
        (b"data:image/png;base64,!!!", {}, 400, "invalid"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (SCREENSHOT_LIMIT * 2), {}, 413,
         "too_large"),
        (make_png(4, 4), {"Origin": "https://evil.example"}, 403,
         "origin_not_allowed"),
    ],
)
def test_bad_screenshots_are_refused_and_not_stored(
    server: Server, body: bytes, headers: dict[str, str], status: int,
    code: str,
) -> None:
    before = set(server.screenshots.iterdir())

    answer = requests.post(
        f"{server.url}/api/screenshots", data=body, headers=headers,
        timeout=10,
    )

    assert answer.status_code == status
    assert answer.json()["error"] == code
    assert set(server.screenshots.iterdir()) == before


@pytest.fixture(scope="module")
def impatient_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """A server that finalizes a recording after 1 s without chunks."""
    running, process = start_server(
        tmp_path_factory.mktemp("impatient"),
        {"PARLEY_RECORDING_IDLE_SECONDS": "1"},
    )
    yield running
    stop_server(process)


def test_recording_of_a_vanished_client_is_finalized(
    impatient_server: Server, live_webm: bytes
) -> None:
    peer = Peer(impatient_server.url)
    peer.call("join", {"room": "vanish", "name": "Gone"})
    rec = peer.call("record-start", {"mime": MIME})
    for seq, chunk in enumerate(split(live_webm, 4)):
        assert _put(impatient_server, rec, seq, chunk).status_code == 200
    peer.close()

    sidecar_path = impatient_server.recordings / f"{rec['id']}.json"
    deadline = time.monotonic() + IDLE_DEADLINE_S
    while not sidecar_path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)

    sidecar = json.loads(sidecar_path.read_text())
    assert sidecar["status"] == "ok"
    assert sidecar["chunks"] == 4
    assert (impatient_server.recordings / f"{rec['id']}.webm").exists()
