"""Hostile or broken clients against the real gunicorn worker.

Bodies cut short, oversized long-polling POSTs, unknown events, extra
arguments, far-ahead chunks and repeated stops: each gets a clear
answer, and the worker keeps serving everyone else.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from conftest import MESSAGE_LIMIT, ORIGIN, Server
from media import make_png, split
from peers import Peer

MIME = "video/webm;codecs=vp8,opus"
POLL_DEADLINE_S = 5.0


def _raw_request(server: Server, request: bytes) -> bytes:
    """Send `request`, close the sending side, return the whole answer."""
    address = urlsplit(server.url)
    with socket.create_connection(
        (address.hostname, address.port), timeout=10
    ) as conn:
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            block = conn.recv(65536)
            if not block:
                return answer
            answer += block


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /api/screenshots HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 100000\r\n\r\n" + make_png(8, 8),
        b"POST /api/screenshots HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n1f4\r\n" + b"x" * 100,
        b"POST /api/screenshots HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    ],
)
def test_body_cut_short_is_a_client_error(
    server: Server, request_bytes: bytes
) -> None:
    before = set(server.screenshots.iterdir())

    answer = _raw_request(server, request_bytes)

    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 400"), answer[:200]
    head, _, rest = answer.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    assert json.loads(rest[:length])["error"] == "incomplete"
    assert set(server.screenshots.iterdir()) == before
    assert requests.get(f"{server.url}/api/health", timeout=5).ok


def _polling_session(server: Server) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.headers["Origin"] = ORIGIN
    opened = session.get(
        f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=5
    )
    sid = json.loads(opened.text[1:])["sid"]
    url = f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    assert session.post(url, data="40", timeout=5).text == "OK"
    assert session.get(url, timeout=5).text.startswith("40")
    return session, url


def test_oversized_polling_post_is_refused_at_once(server: Server) -> None:
    session, url = _polling_session(server)
    message = "42" + json.dumps(["leave", "A" * (MESSAGE_LIMIT * 4)])

    began = time.monotonic()
    answer = session.post(url, data=message, timeout=POLL_DEADLINE_S)

    assert time.monotonic() - began < POLL_DEADLINE_S
    assert answer.status_code == 413
    assert "too_large" in answer.text
    assert str(MESSAGE_LIMIT) in answer.text
    assert requests.get(f"{server.url}/api/health", timeout=5).ok


def test_polling_post_without_length_is_refused(server: Server) -> None:
    session, url = _polling_session(server)

    answer = session.post(
        url, data=iter([b"42", b'["leave"]']), timeout=POLL_DEADLINE_S
    )

    assert answer.status_code == 411
    assert "Content-Length" in answer.text


def test_polling_post_within_the_limit_is_served(server: Server) -> None:
    session, url = _polling_session(server)
    message = "421" + json.dumps(["leave", "A" * (MESSAGE_LIMIT // 2)])

    answer = session.post(url, data=message, timeout=POLL_DEADLINE_S)
    reply = session.get(url, timeout=POLL_DEADLINE_S)

    assert answer.status_code == 200
    assert reply.text == '431[{"ok":true}]'


def test_unknown_event_gets_an_error_ack(server: Server) -> None:
    peer = Peer(server.url)
    try:
        ack = peer.call("no-such-event", {"a": 1})
        still = peer.call("leave")
    finally:
        peer.close()

    assert ack["ok"] is False
    assert ack["error"] == "unknown_event"
    assert still == {"ok": True}


@pytest.mark.parametrize(
    ("event", "args"),
    [("join", ({"room": "x", "name": "y"}, 2)), ("leave", (1, 2))],
)
def test_extra_arguments_get_an_error_ack(
    server: Server, event: str, args: tuple[Any, ...]
) -> None:
    peer = Peer(server.url)
    try:
        ack = peer.call(event, args)
    finally:
        peer.close()

    assert ack["ok"] is False
    assert ack["error"] == "invalid"


def _put(server: Server, rec: dict[str, Any], seq: int,
         body: bytes) -> requests.Response:
    return requests.put(
        f"{server.url}/api/recordings/{rec['id']}/chunks/{seq}",
        data=body, headers={"Authorization": f"Bearer {rec['token']}"},
        timeout=10,
    )


def test_far_ahead_chunk_is_refused(
    server: Server, recorder: Peer, live_webm: bytes
) -> None:
    rec = recorder.call("record-start", {"mime": MIME})
    assert _put(server, rec, 0, live_webm).status_code == 200

    far = _put(server, rec, 999_999, b"junk")
    began = time.monotonic()
    stop = recorder.call(
        "record-stop", {"id": rec["id"], "chunks": 999_999}, timeout=60
    )

    assert far.status_code == 409
    assert far.json()["error"] == "too_far_ahead"
    assert stop["ok"] is True
    assert stop["gaps"] == [[1, 999_998]]
    assert time.monotonic() - began < 30.0


def test_repeated_stop_gets_the_same_answer(
    server: Server, recorder: Peer, live_webm: bytes
) -> None:
    rec = recorder.call("record-start", {"mime": MIME})
    chunks = split(live_webm, 3)
    for seq, chunk in enumerate(chunks):
        assert _put(server, rec, seq, chunk).status_code == 200
    payload = {"id": rec["id"], "chunks": len(chunks)}

    first = recorder.call("record-stop", payload, timeout=60)
    again = recorder.call("record-stop", payload, timeout=60)
    other = Peer(server.url)
    try:
        with_token = other.call(
            "record-stop", {**payload, "token": rec["token"]}, timeout=60
        )
        without_token = other.call("record-stop", payload, timeout=60)
    finally:
        other.close()

    assert first["ok"] is True
    assert first["file"] == f"{rec['id']}.webm"
    assert again == first
    assert with_token == first
    assert without_token["error"] == "unauthorized"


def test_concurrent_stops_share_one_finalization(
    server: Server, recorder: Peer, live_webm: bytes
) -> None:
    rec = recorder.call("record-start", {"mime": MIME})
    chunks = split(live_webm, 4)
    for seq in (0, 1, 2):
        assert _put(server, rec, seq, chunks[seq]).status_code == 200
    other = Peer(server.url)
    answers: list[Any] = []

    def stop(peer: Peer, extra: dict[str, str]) -> None:
        answers.append(peer.call(
            "record-stop",
            {"id": rec["id"], "chunks": len(chunks), **extra}, timeout=60,
        ))

    try:
        threads = [
            threading.Thread(target=stop, args=(recorder, {})),
            threading.Thread(
                target=stop, args=(other, {"token": rec["token"]})
            ),
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        late = _put(server, rec, 3, chunks[3])
        for thread in threads:
            thread.join()
    finally:
        other.close()

    assert late.status_code == 200
    assert len(answers) == 2
    assert answers[0] == answers[1]
    assert answers[0]["ok"] is True
    assert answers[0]["gaps"] == []
    assert answers[0]["chunks"] == len(chunks)


@pytest.mark.parametrize(
    "cut", [lambda png: png[:-12], lambda png: png[:len(png) // 2]]
)
def test_truncated_screenshot_is_refused_and_not_stored(
    server: Server, cut: Any
) -> None:
    before = set(server.screenshots.iterdir())

    answer = requests.post(
        f"{server.url}/api/screenshots", data=cut(make_png(64, 48)),
        timeout=10,
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "incomplete"
    assert set(server.screenshots.iterdir()) == before


def _recv_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        block = conn.recv(size - len(data))
        if not block:
            raise ConnectionError(f"closed after {len(data)} of {size}")
        data += block
    return data


def _read_frame(conn: socket.socket) -> tuple[int, bytes]:
    """One unmasked frame from the server: (opcode, payload)."""
    first, second = _recv_exactly(conn, 2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _recv_exactly(conn, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _recv_exactly(conn, 8))
    return first & 0x0F, _recv_exactly(conn, length)


def _frame_header(opcode: int, length: int, fin: bool = True) -> bytes:
    """A masked client frame header announcing `length` payload bytes."""
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    return header + MASK


MASK = b"\x00\x00\x00\x00"  # XOR with zeros: the payload goes as it is


def _websocket(server: Server) -> socket.socket:
    """An Engine.IO WebSocket, upgraded and past its open packet."""
    address = urlsplit(server.url)
    conn = socket.create_connection(
        (address.hostname, address.port), timeout=POLL_DEADLINE_S
    )
    conn.sendall(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        b"Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"Origin: " + ORIGIN.encode() + b"\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += _recv_exactly(conn, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    opcode, payload = _read_frame(conn)
    assert (opcode, payload[:1]) == (1, b"0"), payload
    return conn


def _close_code(conn: socket.socket) -> int:
    """The status code of the server's close frame, skipping others."""
    while True:
        opcode, payload = _read_frame(conn)
        if opcode == 8:
            (code,) = struct.unpack("!H", payload[:2])
            return int(code)


def test_websocket_frame_over_the_limit_is_refused_from_its_header(
    server: Server,
) -> None:
    # Twenty megabytes announced, none sent: the server must answer from
    # the header alone, or this read times out.
    with _websocket(server) as conn:
        conn.sendall(_frame_header(1, 20 * 1024 * 1024))

        assert _close_code(conn) == 1009


def test_websocket_message_over_the_limit_in_fragments_is_refused(
    server: Server,
) -> None:
    first = b"4" + b"x" * (MESSAGE_LIMIT - 100)
    with _websocket(server) as conn:
        conn.sendall(_frame_header(1, len(first), fin=False) + first)
        conn.sendall(_frame_header(0, 200))

        assert _close_code(conn) == 1009


def test_websocket_message_within_the_limit_is_served(
    server: Server,
) -> None:
    event = b'421["leave","'
    padding = b"x" * (MESSAGE_LIMIT - len(event) - 2)
    message = event + padding + b'"]'
    assert len(message) == MESSAGE_LIMIT
    with _websocket(server) as conn:
        conn.sendall(_frame_header(1, 2) + b"40")
        assert _read_frame(conn)[1].startswith(b"40")

        conn.sendall(_frame_header(1, len(message)) + message)

        opcode, ack = _read_frame(conn)
        assert (opcode, ack[:3]) == (1, b"431"), ack


def _log_tail(server: Server, offset: int) -> str:
    return server.log.read_bytes()[offset:].decode("utf-8", "replace")


def _connect_namespace(conn: socket.socket) -> None:
    conn.sendall(_frame_header(1, 2) + b"40")
    assert _read_frame(conn)[1].startswith(b"40")


def _leave_is_answered(conn: socket.socket) -> bool:
    """Send a leave; True on its ack, False if the server closes first.

    A silent server ends the wait by the socket's own timeout.
    """
    message = b'421["leave"]'
    conn.sendall(_frame_header(1, len(message)) + message)
    while True:
        opcode, payload = _read_frame(conn)
        if opcode == 8:
            return False
        if opcode == 1 and payload.startswith(b"431"):
            return True


def test_websocket_closed_by_the_client_ends_without_a_fault(
    server: Server,
) -> None:
    offset = server.log.stat().st_size
    with _websocket(server) as conn:
        _connect_namespace(conn)

        conn.sendall(_frame_header(8, 2) + struct.pack("!H", 1000))

        # gevent-websocket answers with a close frame of no status code.
        while _read_frame(conn)[0] != 8:
            pass
        assert conn.recv(1) == b"", "the server kept the connection open"
    # One more request on the single worker: by its answer the greenlets
    # of the closed session have run.
    assert requests.get(f"{server.url}/api/health", timeout=5).ok

    assert "Traceback" not in _log_tail(server, offset)


def test_websocket_refusal_closes_once_and_spares_other_sessions(
    server: Server,
) -> None:
    offset = server.log.stat().st_size
    with _websocket(server) as bystander, _websocket(server) as sender:
        _connect_namespace(bystander)
        _connect_namespace(sender)

        sender.sendall(_frame_header(1, 20 * 1024 * 1024))

        assert _close_code(sender) == 1009
        assert sender.recv(1) == b"", "a second frame followed the close"
        assert _leave_is_answered(bystander)

    assert "Traceback" not in _log_tail(server, offset)
