"""Signaling against the real gunicorn with the GeventWebSocketWorker."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator

import pytest
import requests
import socketio

from conftest import MESSAGE_LIMIT, Server
from peers import Peer

PeerFactory = Callable[[], Peer]


@pytest.fixture
def peers(server: Server) -> Iterator[PeerFactory]:
    opened: list[Peer] = []

    def open_peer() -> Peer:
        peer = Peer(server.url)
        opened.append(peer)
        return peer

    yield open_peer
    for peer in opened:
        peer.close()


@pytest.fixture
def room() -> str:
    return f"room-{uuid.uuid4().hex[:12]}"


def test_health_answers_ok(server: Server) -> None:
    answer = requests.get(f"{server.url}/api/health", timeout=5)

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_page_has_the_contract_elements(
    server: Server, web_bundle: dict[str, str]
) -> None:
    page = requests.get(f"{server.url}/", timeout=5)

    assert page.status_code == 200
    for element in (
        "name", "room", "join", "leave", "local-video", "remote-video",
        "record", "record-state", "screenshot", "screenshot-state",
        "status",
    ):
        assert f'id="{element}"' in page.text
    assert f"/static/dist/{web_bundle['parley.js']}" in page.text
    assert f"/static/dist/{web_bundle['parley.css']}" in page.text
    assert re.search(r"/static/dist/parley-[A-Z0-9]+\.js", page.text)
    assert f'content="{MESSAGE_LIMIT}"' in page.text


def test_clients_use_websocket(peers: PeerFactory) -> None:
    peer = peers()

    assert peer.client.transport() == "websocket"


def test_join_announces_newcomer_and_lists_members(
    peers: PeerFactory, room: str
) -> None:
    ann, bob = peers(), peers()

    first = ann.call("join", {"room": room, "name": "Ann"})
    second = bob.call("join", {"room": room, "name": "Bob"})

    assert first == {"ok": True, "sid": ann.sid, "members": []}
    assert second["members"] == [{"sid": ann.sid, "name": "Ann"}]
    assert ann.next() == ("peer-joined", {"sid": bob.sid, "name": "Bob"})


def test_signals_reach_the_named_peer_in_order(
    peers: PeerFactory, room: str
) -> None:
    ann, bob = peers(), peers()
    ann.call("join", {"room": room, "name": "Ann"})
    bob.call("join", {"room": room, "name": "Bob"})
    ann.next()

    ann.call("signal", {"to": bob.sid, "type": "offer", "data": {"n": -1}})
    for n in range(20):
        ann.call(
            "signal", {"to": bob.sid, "type": "candidate", "data": {"n": n}}
        )

    received = [bob.next() for _ in range(21)]
    assert [data["data"]["n"] for _, data in received] == list(range(-1, 20))
    assert {data["from"] for _, data in received} == {ann.sid}
    assert received[0][1]["type"] == "offer"
    assert ann.quiet() == []


def test_third_peer_is_refused_and_isolated_until_a_seat_frees(
    peers: PeerFactory, room: str
) -> None:
    ann, bob, cid = peers(), peers(), peers()
    ann.call("join", {"room": room, "name": "Ann"})
    bob.call("join", {"room": room, "name": "Bob"})

    refused = cid.call("join", {"room": room, "name": "Cid"})
    offer = {"to": ann.sid, "type": "offer", "data": {"sdp": "v=0"}}
    relayed = cid.call("signal", offer)
    ann.call("signal", {"to": bob.sid, "type": "offer", "data": {}})

    assert refused["ok"] is False
    assert refused["error"] == "room_full"
    assert relayed["ok"] is False
    assert relayed["error"] == "not_joined"
    assert cid.quiet() == []
    assert ("signal", {"from": cid.sid, "type": "offer",
                       "data": {"sdp": "v=0"}}) not in ann.quiet()

    assert bob.call("leave") == {"ok": True}
    assert ann.next() == ("peer-left", {"sid": bob.sid, "reason": "left"})
    retry = cid.call("join", {"room": room, "name": "Cid"})
    assert retry["ok"] is True
    assert retry["members"] == [{"sid": ann.sid, "name": "Ann"}]


def test_disconnect_announces_departure(
    peers: PeerFactory, room: str
) -> None:
    ann, bob = peers(), peers()
    ann.call("join", {"room": room, "name": "Ann"})
    bob.call("join", {"room": room, "name": "Bob"})
    ann.next()
    bob_sid = bob.sid

    bob.close()

    assert ann.next() == (
        "peer-left", {"sid": bob_sid, "reason": "disconnected"}
    )


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("join", None),
        ("join", "lab"),
        ("join", {"room": "../x", "name": "Ann"}),
        ("join", {"room": "lab"}),
        ("signal", {"to": "nobody", "type": "offer", "data": {}}),
        ("signal", {"type": "bye", "data": {}}),
        ("record-start", {"mime": "video/webm"}),
        ("record-stop", {"id": "0" * 32, "chunks": 1}),
        ("record-stop", {"id": "../../etc/passwd", "chunks": 1}),
    ],
)
def test_bad_events_get_an_explicit_error(
    peers: PeerFactory, event: str, payload: object
) -> None:
    peer = peers()

    ack = peer.call(event, payload)

    assert ack["ok"] is False
    assert ack["error"] in ("invalid", "not_joined", "unknown", "unknown_peer")
    assert ack["message"]


def test_foreign_origin_is_refused(server: Server) -> None:
    handshake = requests.get(
        f"{server.url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": "https://evil.example"},
        timeout=5,
    )
    allowed = requests.get(
        f"{server.url}/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": "https://localhost:8443"},
        timeout=5,
    )

    assert handshake.status_code == 400
    assert allowed.status_code == 200
    with pytest.raises((socketio.exceptions.ConnectionError, ValueError)):
        Peer(server.url, origin="https://evil.example")


def test_oversized_message_drops_only_its_sender(
    peers: PeerFactory, room: str
) -> None:
    ann, bob, big = peers(), peers(), peers()
    ann.call("join", {"room": room, "name": "Ann"})
    bob.call("join", {"room": room, "name": "Bob"})
    ann.next()

    with pytest.raises(socketio.exceptions.TimeoutError):
        big.call(
            "signal",
            {"to": ann.sid, "type": "offer", "data": "x" * 2 * MESSAGE_LIMIT},
            timeout=3,
        )

    assert big.client.connected is False
    ack = ann.call("signal", {"to": bob.sid, "type": "offer", "data": {}})
    assert ack == {"ok": True}
    assert bob.next()[0] == "signal"
