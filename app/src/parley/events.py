"""Socket.io events: rooms, relay of negotiation, recording control."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import socketio  # type: ignore[import-untyped]

from .recordings import (
    ENDED_DURATION_CAP,
    ENDED_IDLE,
    STOP_GRACE_S,
    Recording,
    RecordingError,
    RecordingStore,
)
from .rooms import RoomError, Rooms

logger = logging.getLogger(__name__)

SIGNAL_TYPES = frozenset({"offer", "answer", "candidate"})
FINALIZE_WAIT_S = 300.0
SWEEP_MIN_S = 0.5
SWEEP_MAX_S = 30.0
Ack = dict[str, Any]
Handler = Callable[[str, Any], Ack]


def _refuse(code: str, message: str) -> Ack:
    return {"ok": False, "error": code, "message": message}


def answers_errors(
    event: str,
) -> Callable[[Handler], Callable[..., Ack]]:
    """Turn refusals and faults of a handler into an explicit ack.

    Every event takes one payload at most; a message with more
    arguments is refused with `invalid` rather than failing the call.
    """

    def decorate(handler: Handler) -> Callable[..., Ack]:
        @functools.wraps(handler)
        def wrapper(sid: str, *args: Any) -> Ack:
            if len(args) > 1:
                logger.warning(
                    "event refused event=%s sid=%s error=invalid"
                    " arguments=%d",
                    event, sid, len(args),
                )
                return _refuse(
                    "invalid", f"{event} takes one payload argument at most"
                )
            try:
                return handler(sid, args[0] if args else None)
            except (RoomError, RecordingError) as error:
                logger.warning(
                    "event refused event=%s sid=%s error=%s message=%s",
                    event, sid, error.code, error.message,
                )
                return _refuse(error.code, error.message)
            except Exception:
                logger.exception("event failed event=%s sid=%s", event, sid)
                return _refuse("internal", "the server failed; see its log")

        return wrapper

    return decorate


def _payload(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RoomError("invalid", "the payload must be an object")
    return data


class Events:
    """Handlers of one socket.io server, bound to the app's state."""

    def __init__(
        self,
        sio: socketio.Server,
        rooms: Rooms,
        recordings: RecordingStore,
        idle_seconds: int,
    ) -> None:
        self.sio = sio
        self.rooms = rooms
        self.recordings = recordings
        self.idle_seconds = idle_seconds

    def register(self) -> None:
        """Attach every handler to the server."""
        self.sio.on("connect", self.on_connect)
        self.sio.on("disconnect", self.on_disconnect)
        self.sio.on("join", answers_errors("join")(self.on_join))
        self.sio.on("leave", answers_errors("leave")(self.on_leave))
        self.sio.on("signal", answers_errors("signal")(self.on_signal))
        self.sio.on(
            "record-start", answers_errors("record-start")(self.on_start)
        )
        self.sio.on(
            "record-stop", answers_errors("record-stop")(self.on_stop)
        )
        self.sio.on("*", self.on_unknown)

    def on_unknown(self, event: Any, sid: str, *args: Any) -> Ack:
        """Any event without a handler: refused through its ack."""
        logger.warning(
            "event refused event=%.64r sid=%s error=unknown_event",
            event, sid,
        )
        return _refuse("unknown_event", "no such event")

    def on_connect(self, sid: str, environ: dict[str, Any]) -> bool:
        logger.info(
            "client connected sid=%s address=%s",
            sid, environ.get("REMOTE_ADDR"),
        )
        return True

    def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._depart(sid, "disconnected")
        logger.info("client disconnected sid=%s reason=%s", sid, reason)

    def _depart(self, sid: str, reason: str) -> None:
        """Take the member out of its room and tell the others why.

        `reason` is "left" for a leave the member asked for, after which
        its call is over, and "disconnected" for a socket that dropped,
        whose member may come back on a new socket.
        """
        member = self.rooms.leave(sid)
        if member is None:
            return
        self.sio.leave_room(sid, member.room)
        self.sio.emit(
            "peer-left", {"sid": sid, "reason": reason}, room=member.room
        )

    def on_join(self, sid: str, data: Any) -> Ack:
        payload = _payload(data)
        member, existing = self.rooms.join(
            sid, payload.get("room"), payload.get("name")
        )
        self.sio.enter_room(sid, member.room)
        self.sio.emit(
            "peer-joined", member.public(), room=member.room, skip_sid=sid
        )
        return {
            "ok": True,
            "sid": sid,
            "members": [m.public() for m in existing],
        }

    def on_leave(self, sid: str, data: Any) -> Ack:
        self._depart(sid, "left")
        return {"ok": True}

    def on_signal(self, sid: str, data: Any) -> Ack:
        payload = _payload(data)
        kind = payload.get("type")
        if kind not in SIGNAL_TYPES:
            raise RoomError(
                "invalid", "type must be offer, answer or candidate"
            )
        if "data" not in payload:
            raise RoomError("invalid", "signal needs data")

        target = self.rooms.peer(sid, payload.get("to"))
        self.sio.emit(
            "signal",
            {"from": sid, "type": kind, "data": payload["data"]},
            to=target.sid,
        )
        return {"ok": True}

    def on_start(self, sid: str, data: Any) -> Ack:
        payload = _payload(data)
        member = self.rooms.member(sid)
        if member is None:
            raise RoomError("not_joined", "join a room before recording")

        recording = self.recordings.start(
            member.room, sid, payload.get("mime")
        )
        return {"ok": True, "id": recording.id, "token": recording.token}

    def on_stop(self, sid: str, data: Any) -> Ack:
        """Stop and finalize; a repeated stop gets the first one's answer."""
        payload = _payload(data)
        recording = self._owned(sid, payload)
        if self.recordings.stop(recording, payload.get("chunks")):
            self.sio.start_background_task(
                self.recordings.finalize, recording, STOP_GRACE_S
            )

        if not recording.finished.wait(FINALIZE_WAIT_S):
            raise RecordingError("timeout", "finalizing takes too long")
        if recording.error is not None:
            raise recording.error
        result = recording.result or {}
        return {
            "ok": True,
            "file": result.get("file"),
            "bytes": result.get("bytes"),
            "chunks": result.get("chunks"),
            "gaps": result.get("gaps"),
            "duration": result.get("duration"),
            "ended": result.get("ended"),
        }

    def _owned(self, sid: str, payload: dict[str, Any]) -> Recording:
        token = payload.get("token")
        if token is not None:
            return self.recordings.authorize(
                payload.get("id"), token, finished=True
            )

        recording = self.recordings.get(payload.get("id"), finished=True)
        if recording.sid != sid:
            raise RecordingError(
                "unauthorized", "not your recording; send its token"
            )
        return recording

    def sweep_recordings(self) -> None:
        """Forever: finalize recordings past their time cap, or whose
        client went away.

        A recording past its time cap is ended here even when no chunk
        comes to be refused; the client's next chunk, if any, still
        gets `recording_too_long`.
        """
        shortest = min(self.idle_seconds, self.recordings.max_seconds)
        period = min(max(shortest / 4, SWEEP_MIN_S), SWEEP_MAX_S)
        while True:
            self.sio.sleep(period)
            for recording in self.recordings.overdue():
                self._finalize_as_is(recording, ENDED_DURATION_CAP)
            for recording in self.recordings.idle(self.idle_seconds):
                self._finalize_as_is(recording, ENDED_IDLE)

    def _finalize_as_is(self, recording: Recording, ended: str) -> None:
        """Stop at the chunks received so far and finalize at once."""
        if not self.recordings.stop(recording, recording.extent(), ended):
            return
        logger.warning(
            "recording ended by the server, finalizing id=%s sid=%s"
            " ended=%s",
            recording.id, recording.sid, ended,
        )
        self.recordings.finalize(recording, 0.0)
