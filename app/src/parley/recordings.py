"""Recordings: chunks appended in order to `<id>.part`, then finalized.

A recording is started over socket.io (`record-start`), which hands the
client an id and an upload token. Chunks arrive as HTTP PUTs, one per
sequence number (0, 1, 2, ...). A chunk is acknowledged only once it is
on disk: either appended to `<id>.part`, or, when it arrived early, held
in `<id>.held/<seq>` until its turn. Repeats are acknowledged again and
otherwise ignored. `record-stop` closes the recording; missing sequence
numbers become gaps in the sidecar, and ffmpeg remuxes the raw stream
into `<id>.webm`. The raw file stays until the result is verified.
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import remux, storage

logger = logging.getLogger(__name__)

ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MIME_PATTERN = re.compile(
    r"^(video|audio)/webm(;\s*codecs=\"?[A-Za-z0-9.,]+\"?)?$"
)
MAX_SEQ = 1_000_000
MAX_HELD_CHUNKS = 256
STOP_GRACE_S = 10.0
POLL_S = 0.1


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
    next_seq: int = 0
    held: set[int] = field(default_factory=set)
    gaps: list[int] = field(default_factory=list)
    raw_bytes: int = 0
    chunks: int = 0
    expected: int = 0
    state: str = "recording"
    last_activity: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: threading.Event = field(default_factory=threading.Event)
    result: dict[str, Any] | None = None
    error: RecordingError | None = None


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


class RecordingStore:
    """Open recordings of this process and their files in `directory`."""

    def __init__(
        self,
        directory: Path,
        ffmpeg: str = "ffmpeg",
        ffprobe: str = "ffprobe",
    ) -> None:
        self.directory = directory
        self.ffmpeg = ffmpeg
        self.ffprobe = ffprobe
        self._open: dict[str, Recording] = {}
        self._lock = threading.Lock()

    def check_tools(self) -> None:
        """Fail at start, not at the first stop, when ffmpeg is missing."""
        for tool in (self.ffmpeg, self.ffprobe):
            if shutil.which(tool) is None:
                raise FileNotFoundError(f"{tool} is not installed")

    def paths(self, rec_id: str) -> dict[str, Path]:
        """Every file of recording `rec_id` (the id is checked first)."""
        if not ID_PATTERN.match(rec_id):
            raise RecordingError("invalid", "malformed recording id")
        base = self.directory / rec_id
        return {
            "part": base.with_suffix(".part"),
            "held": base.with_suffix(".held"),
            "webm": base.with_suffix(".webm"),
            "json": base.with_suffix(".json"),
            "tmp": self.directory / f".{rec_id}.tmp.webm",
        }

    def start(self, room: str, sid: str, mime: object) -> Recording:
        """Open a recording; the caller hands out its id and token."""
        if not isinstance(mime, str) or not MIME_PATTERN.match(mime):
            raise RecordingError(
                "invalid", "mime must be video/webm or audio/webm"
            )

        recording = Recording(
            id=secrets.token_hex(16),
            token=secrets.token_urlsafe(32),
            room=room,
            sid=sid,
            mime=mime,
            started=time.time(),
        )
        self.paths(recording.id)["part"].touch(exist_ok=False)
        with self._lock:
            self._open[recording.id] = recording
        logger.info(
            "recording started id=%s room=%s sid=%s mime=%s",
            recording.id, room, sid, mime,
        )
        return recording

    def get(self, rec_id: object) -> Recording:
        """The open recording `rec_id`, or RecordingError('unknown')."""
        if not isinstance(rec_id, str) or not ID_PATTERN.match(rec_id):
            raise RecordingError("invalid", "malformed recording id")
        with self._lock:
            recording = self._open.get(rec_id)
        if recording is None:
            raise RecordingError("unknown", "no such recording", 404)
        return recording

    def authorize(self, rec_id: object, token: object) -> Recording:
        """The recording, if `token` is its upload token."""
        recording = self.get(rec_id)
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
        """Store chunk `seq`; return once it is written and fsynced."""
        recording = self.authorize(rec_id, token)
        if not 0 <= seq < MAX_SEQ:
            raise RecordingError("invalid", f"seq must be 0-{MAX_SEQ - 1}")
        if not data:
            raise RecordingError("empty", "a chunk holds at least one byte")

        with recording.lock:
            if recording.state not in ("recording", "stopping"):
                raise RecordingError(
                    "closed", "recording is already finalized", 409
                )
            recording.last_activity = time.monotonic()
            duplicate = seq < recording.next_seq or seq in recording.held
            if duplicate:
                logger.info(
                    "chunk repeated id=%s seq=%d", recording.id, seq
                )
            elif seq == recording.next_seq:
                self._append(recording, data)
                recording.next_seq += 1
                self._drain_held(recording)
            else:
                self._hold(recording, seq, data)

        return ChunkAck(recording.id, seq, len(data), duplicate)

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
        if len(recording.held) >= MAX_HELD_CHUNKS:
            raise RecordingError(
                "too_far_ahead",
                f"more than {MAX_HELD_CHUNKS} chunks wait for "
                f"chunk {recording.next_seq}",
                409,
            )
        held = self.paths(recording.id)["held"]
        try:
            held.mkdir(exist_ok=True)
            storage.write_atomic(held / str(seq), data)
        except OSError as error:
            raise self._storage_error(recording, error) from error
        recording.held.add(seq)
        logger.info(
            "chunk held id=%s seq=%d waiting_for=%d",
            recording.id, seq, recording.next_seq,
        )

    def _drain_held(self, recording: Recording) -> None:
        held = self.paths(recording.id)["held"]
        while recording.next_seq in recording.held:
            path = held / str(recording.next_seq)
            self._append(recording, path.read_bytes())
            recording.held.discard(recording.next_seq)
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

    def stop(self, recording: Recording, chunks: object) -> None:
        """Close `recording` to new chunks beyond `chunks` in total."""
        if not isinstance(chunks, int) or isinstance(chunks, bool) or not (
            0 <= chunks <= MAX_SEQ
        ):
            raise RecordingError("invalid", "chunks must be a count")

        with recording.lock:
            if recording.state != "recording":
                raise RecordingError("closed", "recording already stopped")
            recording.state = "stopping"
            recording.expected = chunks
        logger.info(
            "recording stopping id=%s chunks=%d received=%d",
            recording.id, chunks, recording.next_seq,
        )

    def idle(self, idle_seconds: float) -> list[Recording]:
        """Recordings whose client sent nothing for `idle_seconds`."""
        limit = time.monotonic() - idle_seconds
        with self._lock:
            candidates = list(self._open.values())
        return [
            r for r in candidates
            if r.state == "recording" and r.last_activity < limit
        ]

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
            recording.finished.set()

    def _record_failure(self, recording: Recording) -> None:
        try:
            self._write_sidecar(recording, None, "failed")
        except OSError:
            logger.exception(
                "recording sidecar not written id=%s", recording.id
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
        last = max(recording.held) + 1 if recording.held else 0
        total = max(recording.expected, recording.next_seq, last)
        held = self.paths(recording.id)["held"]
        while recording.next_seq < total:
            seq = recording.next_seq
            if seq in recording.held:
                self._append(recording, (held / str(seq)).read_bytes())
                recording.held.discard(seq)
            else:
                recording.gaps.append(seq)
            recording.next_seq += 1

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

        remux.remux(self.ffmpeg, paths["part"], paths["tmp"])
        try:
            duration = remux.probe_duration(self.ffprobe, paths["tmp"])
            with open(paths["tmp"], "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(paths["tmp"], paths["webm"])
        except (OSError, remux.RemuxError):
            paths["tmp"].unlink(missing_ok=True)
            raise

        storage.fsync_directory(self.directory)
        result = self._write_sidecar(recording, duration, "ok")
        paths["part"].unlink()
        logger.info(
            "recording saved id=%s file=%s bytes=%d duration=%.1f gaps=%d",
            recording.id, result["file"], result["bytes"], duration,
            len(recording.gaps),
        )
        return result

    def _write_sidecar(
        self, recording: Recording, duration: float | None, status: str
    ) -> dict[str, Any]:
        paths = self.paths(recording.id)
        final = paths["webm"] if status == "ok" else paths["part"]
        document: dict[str, Any] = {
            "id": recording.id,
            "status": status,
            "file": final.name,
            "room": recording.room,
            "start": _iso(recording.started),
            "end": _iso(time.time()),
            "bytes": final.stat().st_size if final.exists() else 0,
            "raw_bytes": recording.raw_bytes,
            "chunks": recording.chunks,
            "gaps": list(recording.gaps),
            "mime": recording.mime,
            "duration": duration,
        }
        storage.write_json_atomic(paths["json"], document)
        return document
