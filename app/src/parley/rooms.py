"""Room registry: who is in which room, and who may talk to whom."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# Used with fullmatch: "$" would let a trailing newline through.
ROOM_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_NAME_CHARS = 64
MIN_ROOM_LIMIT = 2


class RoomError(Exception):
    """A request the registry refuses; `code` is the stable error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Member:
    """One connected client inside one room."""

    sid: str
    name: str
    room: str

    def public(self) -> dict[str, str]:
        """The member as peers see it."""
        return {"sid": self.sid, "name": self.name}


def check_room(room: object) -> str:
    """Return a valid room name or raise RoomError('invalid')."""
    if not isinstance(room, str) or not ROOM_PATTERN.fullmatch(room):
        raise RoomError(
            "invalid",
            "room must be 1-64 ASCII letters, digits, '.', '_' or '-',"
            " starting with a letter or digit",
        )
    return room


def check_name(name: object) -> str:
    """Return a cleaned display name or raise RoomError('invalid')."""
    if not isinstance(name, str):
        raise RoomError("invalid", "name must be a string")

    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME_CHARS:
        raise RoomError(
            "invalid", f"name must be 1-{MAX_NAME_CHARS} visible characters"
        )
    if not cleaned.isprintable():
        raise RoomError("invalid", "name holds control characters")
    return cleaned


class Rooms:
    """Members per room, with a limit on each room's size."""

    def __init__(self, limit: int) -> None:
        if limit < MIN_ROOM_LIMIT:
            raise ValueError(
                f"a room holds at least {MIN_ROOM_LIMIT} members, got {limit}"
            )
        self.limit = limit
        self._rooms: dict[str, dict[str, Member]] = {}
        self._by_sid: dict[str, Member] = {}

    def join(
        self, sid: str, room: object, name: object
    ) -> tuple[Member, list[Member]]:
        """Add `sid` to `room`; return it and who was there before."""
        room = check_room(room)
        name = check_name(name)

        if sid in self._by_sid:
            raise RoomError(
                "invalid", "already in a room; leave it before joining"
            )

        members = self._rooms.setdefault(room, {})
        if len(members) >= self.limit:
            logger.warning(
                "join refused, room full room=%s sid=%s limit=%d",
                room, sid, self.limit,
            )
            raise RoomError(
                "room_full", f"room {room} already has {self.limit} members"
            )

        existing = list(members.values())
        member = Member(sid=sid, name=name, room=room)
        members[sid] = member
        self._by_sid[sid] = member
        logger.info(
            "member joined room=%s sid=%s members=%d",
            room, sid, len(members),
        )
        return member, existing

    def leave(self, sid: str) -> Member | None:
        """Remove `sid` from its room; None when it was in no room."""
        member = self._by_sid.pop(sid, None)
        if member is None:
            return None

        members = self._rooms[member.room]
        del members[sid]
        if not members:
            del self._rooms[member.room]
        logger.info("member left room=%s sid=%s", member.room, sid)
        return member

    def member(self, sid: str) -> Member | None:
        """The membership of `sid`, if any."""
        return self._by_sid.get(sid)

    def members(self, room: str) -> list[Member]:
        """Everyone in `room`, in the order they joined."""
        return list(self._rooms.get(room, {}).values())

    def peer(self, sid: str, to: object) -> Member:
        """The member `to`, if `sid` may send to it; else RoomError."""
        sender = self._by_sid.get(sid)
        if sender is None:
            raise RoomError("not_joined", "join a room before signaling")

        target = self._by_sid.get(to) if isinstance(to, str) else None
        if target is None or target.room != sender.room or to == sid:
            raise RoomError("unknown_peer", "no such member in your room")
        return target
