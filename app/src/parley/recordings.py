"""Recordings: chunks appended in order to `<id>.part`, then finalized.

A recording is started over socket.io (`record-start`), which hands the
client an id and an upload token. Chunks arrive as HTTP PUTs, one per
sequence number (0, 1, 2, ...). A chunk is acknowledged only once it is
on disk: either appended to `<id>.part`, or, when it arrived early, held
in `<id>.held/<seq>` until its turn. Repeats are acknowledged again and
otherwise ignored. A chunk more than MAX_AHEAD_CHUNKS ahead of the next
one awaited is refused (`too_far_ahead`), so that what is held, and any
loop over it, stays small. `record-stop` closes the recording at the
number of chunks it names: later chunks are refused or dropped, missing
sequence numbers become gap ranges in the sidecar, and ffmpeg remuxes
the raw stream into `<id>.webm`. The raw file stays until the result is
verified, and `<id>.webm` appears only with its sidecar beside it.

Caps bound each recording: its bytes (`max_bytes`, chunks held early
included), the time since it started (`max_seconds`) and how many one
socket may have open at once (`per_client`). A new chunk that passes the
byte or the time cap is refused (`recording_too_large` 413,
`recording_too_long` 409) and ends the recording where it stands, as a
stop at the chunks already written would: it is finalized like any
other, its sidecar saying why it ended (`"ended"`), and every chunk sent
after that gets the same refusal.

The outcome of a finished recording is kept in memory for a while
(FINISHED_KEEP of them, FINISHED_KEEP_S at most), so that a repeated
`record-stop`, from the same socket or from a new one after a
reconnect, is answered the same way.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import remux, storage

logger = logging.getLogger(__name__)

# Used with fullmatch: "$" would let a trailing newline through.
ID_PATTERN = re.compile(r"[0-9a-f]{32}")
MIME_PATTERN = re.compile(
    r"(video|audio)/webm(;\s*codecs=\"?[A-Za-z0-9.,]+\"?)?"
)
MAX_SEQ = 1_000_000
# A chunk is held only when seq < next awaited seq + MAX_AHEAD_CHUNKS.
MAX_AHEAD_CHUNKS = 256
FINISHED_KEEP = 256
FINISHED_KEEP_S = 3600.0
STOP_GRACE_S = 10.0
POLL_S = 0.1
# Defaults of the caps (Settings carries the site's own).
MAX_BYTES = 2 * 1024 * 1024 * 1024
MAX_SECONDS = 4 * 3600
PER_CLIENT = 2

# Why a recording ended, as its sidecar and the stop's answer say.
ENDED_STOP = "stop"
ENDED_IDLE = "idle"
ENDED_SIZE_CAP = "size_cap"
ENDED_DURATION_CAP = "duration_cap"
CAP_ENDINGS = frozenset({ENDED_SIZE_CAP, ENDED_DURATION_CAP})

Clock = Callable[[], float]
Spawn = Callable[..., object]


class RecordingError(Exception):
    """A refused recording request, with a stable code and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Recording:
    """The state of one recording, in memory while it is open."""

    id: str
    token: str
    room: str
    sid: str
    mime: str
    started: float
    # On the store's clock (monotonic), for the duration cap.
    opened: float = 0.0
    next_seq: int = 0
    held: set[int] = field(default_factory=set)
    held_bytes: int = 0
    gaps: list[list[int]] = field(default_factory=list)
    raw_bytes: int = 0
    chunks: int = 0
    expected: int = 0
    state: str = "recording"
    ended: str | None = None
    last_activity: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: threading.Event = field(default_factory=threading.Event)
    result: dict[str, Any] | None = None
    error: RecordingError | None = None

    def extent(self) -> int:
        """How many chunks the client sent at least: 0 to the last seen."""
        return max([self.next_seq, *(seq + 1 for seq in self.held)])


@dataclass(frozen=True)
class ChunkAck:
    """What the PUT of a chunk answers."""

    id: str
    seq: int
    bytes: int
    duplicate: bool


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.isoformat(timespec="seconds")


def run_now(function: Callable[..., object], *args: object) -> None:
    """Run `function` at once, in the caller: the store's default spawn."""
    function(*args)


class RecordingStore:
    """Open recordings of this process and their files in `directory`.

    `max_bytes`, `max_seconds` and `per_client` are the caps (the
    settings bound them; the store takes any positive value). `spawn`
    runs the finalizing of a recording that a chunk took past a cap; the
    server passes its background task starter, the default runs it in
    the caller. `clock` measures activity and duration (monotonic).
    """

    def __init__(
        self,
        directory: Path,
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
        *,
        max_bytes: int = MAX_BYTES,
        max_seconds: float = MAX_SECONDS,
        per_client: int = PER_CLIENT,
        spawn: Spawn = run_now,
        clock: Clock = time.monotonic,
    ) -> None:
        if max_bytes < 1 or max_seconds <= 0 or per_client < 1:
            raise ValueError("recording caps must be positive")

        self.directory = directory
        self.ffmpeg = ffmpeg
        self.ffprobe = ffprobe
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.per_client = per_client
        self._spawn = spawn
        self._clock = clock
        self._open: dict[str, Recording] = {}
        self._finished: OrderedDict[str, tuple[float, Recording]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def check_tools(self) -> None:
        """Fail at start, not at the first stop, when ffmpeg is missing."""
        for tool in (self.ffmpeg, self.ffprobe):
            if shutil.which(tool) is None:
                raise FileNotFoundError(f"{tool} is not installed")

    def paths(self, rec_id: str) -> dict[str, Path]:
        """Every file of recording `rec_id` (the id is checked first)."""
        if not ID_PATTERN.fullmatch(rec_id):
            raise RecordingError("invalid", "malformed recording id")
        base = self.directory / rec_id
        return {
            "part": base.with_suffix(".part"),
            "held": base.with_suffix(".held"),
            "webm": base.with_suffix(".webm"),
            "json": base.with_suffix(".json"),
            "tmp": self.directory / f".{rec_id}.tmp.webm",
            "json_tmp": storage.temporary_name(base.with_suffix(".json")),
        }

    def start(self, room: str, sid: str, mime: object) -> Recording:
        """Open a recording; the caller hands out its id and token."""
        if not isinstance(mime, str) or not MIME_PATTERN.fullmatch(mime):
            raise RecordingError(
                "invalid", "mime must be video/webm or audio/webm"
            )

        now = self._clock()
        recording = Recording(
            id=secrets.token_hex(16),
            token=secrets.token_urlsafe(32),
            room=room,
            sid=sid,
            mime=mime,
            started=time.time(),
            opened=now,
            last_activity=now,
        )
        with self._lock:
            self._check_per_client(sid)
            self.paths(recording.id)["part"].touch(exist_ok=False)
            self._open[recording.id] = recording
        logger.info(
            "recording started id=%s room=%s sid=%s mime=%s",
            recording.id, room, sid, mime,
        )
        return recording

    def _check_per_client(self, sid: str) -> None:
        """Refuse a new recording beyond `per_client` (lock held)."""
        under_way = sum(
            1 for r in self._open.values()
            if r.sid == sid and r.state == "recording"
        )
        if under_way >= self.per_client:
            raise RecordingError(
                "too_many_recordings",
                f"a connection records {self.per_client} at once at most;"
                " stop one first",
                409,
            )

    def get(self, rec_id: object, finished: bool = False) -> Recording:
        """The open recording `rec_id`, or RecordingError('unknown').

        With `finished`, a recording finalized a short while ago (its
        outcome still kept) is found too.
        """
        if not isinstance(rec_id, str) or not ID_PATTERN.fullmatch(rec_id):
            raise RecordingError("invalid", "malformed recording id")
        with self._lock:
            recording = self._open.get(rec_id)
            if recording is None and finished:
                self._forget_old()
                kept = self._finished.get(rec_id)
                recording = None if kept is None else kept[1]
        if recording is None:
            raise RecordingError("unknown", "no such recording", 404)
        return recording

    def authorize(
        self, rec_id: object, token: object, finished: bool = False
    ) -> Recording:
        """The recording, if `token` is its upload token."""
        recording = self.get(rec_id, finished)
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode(), recording.token.encode()
        ):
            raise RecordingError(
                "unauthorized", "missing or wrong upload token", 401
            )
        return recording

    def put_chunk(
        self, rec_id: str, token: str, seq: int, data: bytes
    ) -> ChunkAck:
        """Store chunk `seq`; return once it is written and fsynced.

        A new chunk past a cap is refused and ends the recording at the
        chunks before it; its finalizing is handed to `spawn`.
        """
        recording = self.authorize(rec_id, token, finished=True)
        if not 0 <= seq < MAX_SEQ:
            raise RecordingError("invalid", f"seq must be 0-{MAX_SEQ - 1}")
        if not data:
            raise RecordingError("empty", "a chunk holds at least one byte")

        cap: str | None = None
        first = False
        with recording.lock:
            duplicate = seq < recording.next_seq or seq in recording.held
            self._check_accepting(recording, seq, duplicate)
            recording.last_activity = self._clock()
            if not duplicate:
                cap = self._cap_passed(recording, len(data))
            if duplicate:
                logger.info(
                    "chunk repeated id=%s seq=%d", recording.id, seq
                )
            elif cap is not None:
                first = self._end_at_cap(recording, cap, seq)
            elif seq == recording.next_seq:
                self._append(recording, data)
                recording.next_seq += 1
                self._drain_held(recording)
            else:
                self._hold(recording, seq, data)

        if cap is not None:
            if first:
                self._spawn(self.finalize, recording, 0.0)
            raise self._cap_error(cap)
        return ChunkAck(recording.id, seq, len(data), duplicate)

    def _check_accepting(
        self, recording: Recording, seq: int, repeat: bool
    ) -> None:
        """Refuse a chunk the recording no longer takes (lock held).

        A repeat of a chunk already stored is acknowledged again, even
        once the recording has ended: the client only missed its answer.
        """
        if repeat:
            return
        if recording.ended in CAP_ENDINGS:
            raise self._cap_error(recording.ended)
        if recording.finished.is_set():
            raise RecordingError("unknown", "no such recording", 404)
        if recording.state not in ("recording", "stopping"):
            raise RecordingError(
                "closed", "recording is already finalized", 409
            )
        if recording.state == "stopping" and seq >= recording.expected:
            raise RecordingError(
                "closed",
                f"the recording was stopped at {recording.expected}"
                " chunks",
                409,
            )

    def _cap_passed(self, recording: Recording, size: int) -> str | None:
        """The cap a new chunk of `size` bytes passes, if any (lock held).

        The time cap ends a recording still under way only: chunks that
        trail a stop were recorded before it.
        """
        if (
            recording.state == "recording"
            and self._clock() - recording.opened > self.max_seconds
        ):
            return ENDED_DURATION_CAP
        stored = recording.raw_bytes + recording.held_bytes
        if stored + size > self.max_bytes:
            return ENDED_SIZE_CAP
        return None

    def _end_at_cap(self, recording: Recording, cap: str, seq: int) -> bool:
        """Close `recording` at the chunks it holds (lock held).

        True when it was still under way: the caller finalizes it. A
        recording stopped before keeps its finalizing, which now awaits
        no chunk beyond those held.
        """
        first = recording.state == "recording"
        extent = recording.extent()
        recording.expected = (
            extent if first else min(recording.expected, extent)
        )
        recording.state = "stopping"
        recording.ended = cap
        logger.info(
            "recording capped id=%s cap=%s seq=%d chunks=%d raw_bytes=%d"
            " seconds=%.1f",
            recording.id, cap, seq, recording.expected,
            recording.raw_bytes + recording.held_bytes,
            self._clock() - recording.opened,
        )
        return first

    def _cap_error(self, cap: str) -> RecordingError:
        if cap == ENDED_SIZE_CAP:
            return RecordingError(
                "recording_too_large",
                f"a recording holds {self.max_bytes} bytes at most; it"
                " ended and is saved without this chunk",
                413,
            )
        return RecordingError(
            "recording_too_long",
            f"a recording lasts {self.max_seconds:g} s at most; it ended"
            " and is saved without this chunk",
            409,
        )

    def _append(self, recording: Recording, data: bytes) -> None:
        part = self.paths(recording.id)["part"]
        with open(part, "ab") as handle:
            before = handle.tell()
            try:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as error:
                handle.truncate(before)
                raise self._storage_error(recording, error) from error
        recording.raw_bytes += len(data)
        recording.chunks += 1

    def _hold(self, recording: Recording, seq: int, data: bytes) -> None:
        if seq >= recording.next_seq + MAX_AHEAD_CHUNKS:
            raise RecordingError(
                "too_far_ahead",
                f"chunk {seq} is {MAX_AHEAD_CHUNKS} or more ahead of "
                f"chunk {recording.next_seq}, which is still awaited",
                409,
            )
        held = self.paths(recording.id)["held"]
        try:
            held.mkdir(exist_ok=True)
            storage.write_atomic(held / str(seq), data)
        except OSError as error:
            raise self._storage_error(recording, error) from error
        recording.held.add(seq)
        recording.held_bytes += len(data)
        logger.info(
            "chunk held id=%s seq=%d waiting_for=%d",
            recording.id, seq, recording.next_seq,
        )

    def _drain_held(self, recording: Recording) -> None:
        held = self.paths(recording.id)["held"]
        while recording.next_seq in recording.held:
            path = held / str(recording.next_seq)
            data = path.read_bytes()
            self._append(recording, data)
            recording.held.discard(recording.next_seq)
            recording.held_bytes -= len(data)
            path.unlink()
            recording.next_seq += 1

    def _storage_error(
        self, recording: Recording, error: OSError
    ) -> RecordingError:
        if storage.is_disk_full(error):
            logger.warning(
                "recording store full id=%s error=%s", recording.id, error
            )
            return RecordingError(
                "storage_full", "the recordings store is full", 507
            )
        logger.exception("recording write failed id=%s", recording.id)
        return RecordingError("storage_error", "could not write chunk", 500)

    def stop(
        self,
        recording: Recording,
        chunks: object,
        ended: str = ENDED_STOP,
    ) -> bool:
        """Close `recording` to new chunks beyond `chunks` in total.

        True when this call stopped it (the caller then finalizes it);
        False when it was stopped before: its outcome is, or will be,
        the one of that first stop. `ended` says why, for the sidecar.
        """
        if not isinstance(chunks, int) or isinstance(chunks, bool) or not (
            0 <= chunks <= MAX_SEQ
        ):
            raise RecordingError("invalid", "chunks must be a count")

        with recording.lock:
            if recording.state != "recording":
                logger.info(
                    "recording stop repeated id=%s state=%s",
                    recording.id, recording.state,
                )
                return False
            recording.state = "stopping"
            recording.expected = chunks
            recording.ended = ended
        logger.info(
            "recording stopping id=%s chunks=%d received=%d ended=%s",
            recording.id, chunks, recording.next_seq, ended,
        )
        return True

    def idle(self, idle_seconds: float) -> list[Recording]:
        """Recordings whose client sent nothing for `idle_seconds`."""
        limit = self._clock() - idle_seconds
        return [
            r for r in self._under_way() if r.last_activity < limit
        ]

    def overdue(self) -> list[Recording]:
        """Recordings under way for longer than the time cap."""
        limit = self._clock() - self.max_seconds
        return [r for r in self._under_way() if r.opened < limit]

    def _under_way(self) -> list[Recording]:
        with self._lock:
            candidates = list(self._open.values())
        return [r for r in candidates if r.state == "recording"]

    def finalize(self, recording: Recording, grace: float) -> None:
        """Wait up to `grace` s for late chunks, then remux and verify.

        Blocking; run it in a background task. Its outcome lands in
        `recording.result` or `recording.error`, then `finished` is set.
        """
        try:
            self._wait_for_late_chunks(recording, grace)
            with recording.lock:
                recording.state = "finalizing"
                self._close_gaps(recording)
            recording.result = self._remux(recording)
            recording.state = "done"
        except RecordingError as error:
            recording.error = error
            recording.state = "failed"
            if error.code != "empty":
                self._record_failure(recording)
        except (OSError, remux.RemuxError) as error:
            logger.warning(
                "recording not finalized id=%s error=%s", recording.id, error
            )
            recording.error = RecordingError(
                "finalize_failed", f"could not finalize: {error}", 500
            )
            recording.state = "failed"
            self._record_failure(recording)
        finally:
            with self._lock:
                self._open.pop(recording.id, None)
                self._finished[recording.id] = (
                    time.monotonic(), recording
                )
                self._forget_old()
            recording.finished.set()

    def _forget_old(self) -> None:
        """Drop kept outcomes beyond the count or age limit (lock held)."""
        limit = time.monotonic() - FINISHED_KEEP_S
        while self._finished:
            rec_id, (when, _) = next(iter(self._finished.items()))
            if len(self._finished) <= FINISHED_KEEP and when >= limit:
                break
            del self._finished[rec_id]

    def _record_failure(self, recording: Recording) -> None:
        try:
            self._write_sidecar(recording, None, "failed")
        except OSError as error:
            # Nothing claims to be whole: the raw file stays as it is.
            logger.error(
                "recording failure sidecar not written id=%s error=%s;"
                " raw stream kept in %s",
                recording.id, error, self.paths(recording.id)["part"],
            )

    def _wait_for_late_chunks(
        self, recording: Recording, grace: float
    ) -> None:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            with recording.lock:
                if recording.next_seq >= recording.expected:
                    return
            time.sleep(POLL_S)

    def _close_gaps(self, recording: Recording) -> None:
        """Append what is held up to `expected`; note the rest as gaps.

        Loops over held chunks only (at most MAX_AHEAD_CHUNKS), never
        over sequence numbers: a gap is one range [first, last].
        """
        total = max(recording.expected, recording.next_seq)
        held = self.paths(recording.id)["held"]
        for seq in sorted(s for s in recording.held if s < total):
            if seq > recording.next_seq:
                recording.gaps.append([recording.next_seq, seq - 1])
            data = (held / str(seq)).read_bytes()
            self._append(recording, data)
            recording.held.discard(seq)
            recording.held_bytes -= len(data)
            recording.next_seq = seq + 1
        if recording.next_seq < total:
            recording.gaps.append([recording.next_seq, total - 1])
            recording.next_seq = total

        if recording.held:
            logger.warning(
                "chunks beyond the stop dropped id=%s chunks=%d dropped=%d",
                recording.id, total, len(recording.held),
            )
            recording.held.clear()
            recording.held_bytes = 0
        if recording.gaps:
            logger.warning(
                "recording has gaps id=%s gaps=%s",
                recording.id, recording.gaps,
            )
        shutil.rmtree(held, ignore_errors=True)

    def _remux(self, recording: Recording) -> dict[str, Any]:
        paths = self.paths(recording.id)
        if recording.raw_bytes == 0:
            paths["part"].unlink(missing_ok=True)
            raise RecordingError("empty", "the recording holds no data")

        source = remux.probe(self.ffprobe, paths["part"])
        if source.packets == 0:
            raise remux.RemuxError("the raw stream holds no media packets")
        try:
            remux.remux(
                self.ffmpeg, paths["part"], paths["tmp"], source.errors
            )
            duration = remux.verify(self.ffprobe, paths["tmp"], source)
            with open(paths["tmp"], "rb") as handle:
                os.fsync(handle.fileno())
            result = self._sidecar(
                recording, duration, "ok", paths["tmp"].stat().st_size
            )
            # The sidecar is written first, the video renamed next, the
            # sidecar last: a final .webm never stands without its .json.
            sidecar_tmp = storage.prepare(
                paths["json"], storage.json_bytes(result)
            )
            os.replace(paths["tmp"], paths["webm"])
            try:
                os.replace(sidecar_tmp, paths["json"])
            except OSError:
                os.replace(paths["webm"], paths["tmp"])
                raise
        except (OSError, remux.RemuxError):
            paths["tmp"].unlink(missing_ok=True)
            paths["json_tmp"].unlink(missing_ok=True)
            raise

        storage.fsync_directory(self.directory)
        # The recording is finished now: retention may already be
        # removing it, its raw file first.
        paths["part"].unlink(missing_ok=True)
        storage.fsync_directory(self.directory)
        logger.info(
            "recording saved id=%s file=%s bytes=%d duration=%.1f gaps=%d"
            " ended=%s",
            recording.id, result["file"], result["bytes"], duration,
            len(recording.gaps), result["ended"],
        )
        return result

    def _sidecar(
        self,
        recording: Recording,
        duration: float | None,
        status: str,
        size: int,
    ) -> dict[str, Any]:
        paths = self.paths(recording.id)
        final = paths["webm"] if status == "ok" else paths["part"]
        return {
            "id": recording.id,
            "status": status,
            "file": final.name,
            "room": recording.room,
            "start": _iso(recording.started),
            "end": _iso(time.time()),
            "bytes": size,
            "raw_bytes": recording.raw_bytes,
            "chunks": recording.chunks,
            "gaps": [list(gap) for gap in recording.gaps],
            "mime": recording.mime,
            "duration": duration,
            "ended": recording.ended or ENDED_STOP,
        }

    def _write_sidecar(
        self, recording: Recording, duration: float | None, status: str
    ) -> dict[str, Any]:
        part = self.paths(recording.id)["part"]
        size = part.stat().st_size if part.exists() else 0
        document = self._sidecar(recording, duration, status, size)
        storage.write_json_atomic(self.paths(recording.id)["json"], document)
        return document
