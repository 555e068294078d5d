"""Remux a raw MediaRecorder stream with ffmpeg and check it with ffprobe.

MediaRecorder writes a WebM stream whose header carries no duration and
no cues, so players cannot seek it. `ffmpeg -c copy` rewrites the
container without touching the media, which adds both.
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

logger = logging.getLogger(__name__)

REMUX_TIMEOUT_S = 600
PROBE_TIMEOUT_S = 60


class RemuxError(Exception):
    """ffmpeg or ffprobe refused the file."""


def remux(ffmpeg: str, source: Path, target: Path) -> None:
    """Copy the streams of `source` into a fresh WebM file `target`."""
    command = [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-y", "-i", str(source), "-map", "0", "-c", "copy",
        "-f", "webm", str(target),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=REMUX_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RemuxError(f"ffmpeg did not run: {error}") from error

    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()[-500:]
        raise RemuxError(f"ffmpeg failed: {message}")


def probe_duration(ffprobe: str, path: Path) -> float:
    """Return the duration in seconds that ffprobe reads from `path`."""
    command = [
        ffprobe, "-v", "error", "-show_entries", "format=duration",
        "-of", "json", str(path),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RemuxError(f"ffprobe did not run: {error}") from error

    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()[-500:]
        raise RemuxError(f"ffprobe failed: {message}")

    try:
        report = json.loads(done.stdout)
        duration = float(report["format"]["duration"])
    except (ValueError, KeyError, TypeError) as error:
        raise RemuxError("ffprobe reported no duration") from error

    if duration <= 0:
        raise RemuxError(f"ffprobe reported duration {duration}")
    return duration
