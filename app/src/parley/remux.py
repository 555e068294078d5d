"""Remux a raw MediaRecorder stream with ffmpeg and check it with ffprobe.

MediaRecorder writes a WebM stream whose header carries no duration and
no cues, so players cannot seek it. `ffmpeg -c copy` rewrites the
container without touching the media, which adds both.

ffmpeg can exit 0 after a failed write (a full disk while it writes the
trailer), so its exit status alone proves nothing. It runs with
`-loglevel error`, and any error line it prints fails the remux, except
the lines that reading the source alone prints too (a stream with a
lost chunk makes the demuxer complain, in ffprobe as in ffmpeg). The
result must then read back without a single error, with as many packets
as the source and a positive duration.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

REMUX_TIMEOUT_S = 600
PROBE_TIMEOUT_S = 120
MESSAGE_CHARS = 500
# "[matroska,webm @ 0x55d0c1e2a900] ..." names a context by its address,
# which differs from one run to the next.
_ADDRESS = re.compile(r" @ 0x[0-9a-fA-F]+\]")


class RemuxError(Exception):
    """ffmpeg or ffprobe refused the file, or the result is not whole."""


@dataclass(frozen=True)
class Probe:
    """What ffprobe reads from a file when it demuxes all of it."""

    packets: int
    duration: float | None
    errors: frozenset[str]


def _error_lines(stderr: bytes) -> frozenset[str]:
    text = stderr.decode("utf-8", "replace")
    return frozenset(
        _ADDRESS.sub("]", line.strip())
        for line in text.splitlines()
        if line.strip()
    )


def _run(command: list[str], timeout: int) -> subprocess.CompletedProcess[
    bytes
]:
    try:
        return subprocess.run(
            command, capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RemuxError(f"{command[0]} did not run: {error}") from error


def _tail(lines: frozenset[str] | bytes) -> str:
    if isinstance(lines, bytes):
        text = lines.decode("utf-8", "replace").strip()
    else:
        text = " | ".join(sorted(lines))
    return text[-MESSAGE_CHARS:]


def probe(ffprobe: str, path: Path) -> Probe:
    """Demux all of `path`: its packets, duration and error lines."""
    command = [
        ffprobe, "-v", "error", "-count_packets",
        "-show_entries", "stream=nb_read_packets:format=duration",
        "-of", "json", str(path),
    ]
    done = _run(command, PROBE_TIMEOUT_S)
    if done.returncode != 0:
        raise RemuxError(f"ffprobe failed: {_tail(done.stderr)}")

    try:
        report = json.loads(done.stdout)
        packets = sum(
            int(stream.get("nb_read_packets", 0))
            for stream in report.get("streams", [])
        )
        raw_duration = report.get("format", {}).get("duration")
        duration = None if raw_duration is None else float(raw_duration)
    except (ValueError, TypeError, AttributeError) as error:
        raise RemuxError(f"ffprobe answered no report: {error}") from error
    return Probe(packets, duration, _error_lines(done.stderr))


def remux(
    ffmpeg: str,
    source: Path,
    target: Path,
    tolerated: frozenset[str] = frozenset(),
) -> None:
    """Copy the streams of `source` into a fresh WebM file `target`.

    `tolerated` are the error lines that reading `source` prints anyway
    (see `probe`); any other error line fails the remux.
    """
    command = [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-y", "-i", str(source), "-map", "0", "-c", "copy",
        "-f", "webm", str(target),
    ]
    done = _run(command, REMUX_TIMEOUT_S)
    if done.returncode != 0:
        raise RemuxError(f"ffmpeg failed: {_tail(done.stderr)}")
    unexplained = _error_lines(done.stderr) - tolerated
    if unexplained:
        raise RemuxError(f"ffmpeg reported errors: {_tail(unexplained)}")


def verify(ffprobe: str, result: Path, source: Probe) -> float:
    """Check that `result` holds all of `source`; return its duration."""
    found = probe(ffprobe, result)
    if found.errors:
        raise RemuxError(
            f"the remuxed file reads with errors: {_tail(found.errors)}"
        )
    if found.packets != source.packets:
        raise RemuxError(
            f"the remuxed file has {found.packets} packets, "
            f"the raw stream {source.packets}"
        )
    if found.duration is None or found.duration <= 0:
        raise RemuxError(f"ffprobe reported duration {found.duration}")
    return found.duration
