"""Room registry: membership, the room limit, who may signal whom."""

from __future__ import annotations

import pytest

from parley.rooms import RoomError, Rooms


@pytest.fixture
def rooms() -> Rooms:
    return Rooms(limit=2)


def test_join_returns_members_already_there(rooms: Rooms) -> None:
    rooms.join("a", "lab", "Ann")

    member, existing = rooms.join("b", "lab", "Bob")

    assert member.public() == {"sid": "b", "name": "Bob"}
    assert [m.public() for m in existing] == [{"sid": "a", "name": "Ann"}]


def test_third_member_is_refused_until_one_leaves(rooms: Rooms) -> None:
    rooms.join("a", "lab", "Ann")
    rooms.join("b", "lab", "Bob")

    with pytest.raises(RoomError) as refused:
        rooms.join("c", "lab", "Cid")
    assert refused.value.code == "room_full"
    assert rooms.member("c") is None

    rooms.leave("b")
    _, existing = rooms.join("c", "lab", "Cid")
    assert [m.sid for m in existing] == ["a"]


def test_refused_member_may_not_signal(rooms: Rooms) -> None:
    rooms.join("a", "lab", "Ann")
    rooms.join("b", "lab", "Bob")
    with pytest.raises(RoomError):
        rooms.join("c", "lab", "Cid")

    with pytest.raises(RoomError) as refused:
        rooms.peer("c", "a")

    assert refused.value.code == "not_joined"


@pytest.mark.parametrize("target", ["x", "c", "a", None, 5])
def test_signal_only_reaches_another_member_of_the_room(
    rooms: Rooms, target: object
) -> None:
    rooms.join("a", "lab", "Ann")
    rooms.join("c", "other", "Cid")

    with pytest.raises(RoomError) as refused:
        rooms.peer("a", target)

    assert refused.value.code == "unknown_peer"


def test_leave_twice_is_harmless(rooms: Rooms) -> None:
    rooms.join("a", "lab", "Ann")

    first = rooms.leave("a")
    second = rooms.leave("a")

    assert first is not None and first.room == "lab"
    assert second is None
    assert rooms.members("lab") == []


def test_join_twice_is_refused(rooms: Rooms) -> None:
    rooms.join("a", "lab", "Ann")

    with pytest.raises(RoomError) as refused:
        rooms.join("a", "other", "Ann")

    assert refused.value.code == "invalid"


@pytest.mark.parametrize(
    ("room", "name"),
    [
        ("", "Ann"),
        ("../etc", "Ann"),
        ("a" * 65, "Ann"),
        ("lab\n", "Ann"),
        (None, "Ann"),
        ("lab", ""),
        ("lab", "   "),
        ("lab", "x" * 65),
        ("lab", 42),
        ("lab", "bell\x07"),
    ],
)
def test_bad_room_or_name_is_invalid(
    rooms: Rooms, room: object, name: object
) -> None:
    with pytest.raises(RoomError) as refused:
        rooms.join("a", room, name)

    assert refused.value.code == "invalid"
    assert rooms.member("a") is None
