"""Settings of the app, read once from the environment at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
HOUR_S = 3600
DAY_S = 24 * HOUR_S

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


class SettingsError(ValueError):
    """A PARLEY_* variable is missing or has a value the app refuses."""


@dataclass(frozen=True)
class Settings:
    """What the app needs to know about its site; never changes."""

    room_limit: int
    allowed_origins: tuple[str, ...]
    recordings_dir: Path
    screenshots_dir: Path
    max_chunk_bytes: int = 8 * MIB
    max_screenshot_bytes: int = 16 * MIB
    max_message_bytes: int = 64 * KIB
    recording_idle_seconds: int = 300
    max_recording_bytes: int = 2 * GIB
    max_recording_seconds: int = 4 * HOUR_S
    max_recordings_per_client: int = 2
    trusted_proxies: tuple[str, ...] = ()


def _integer(
    environ: Mapping[str, str],
    name: str,
    default: int,
    low: int,
    high: int,
) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default

    if not raw.isdigit():
        raise SettingsError(
            f"{name} must be a whole number, got {raw!r}"
        )

    value = int(raw)
    if not low <= value <= high:
        raise SettingsError(
            f"{name} must be between {low} and {high}, got {value}"
        )
    return value


def _directory(environ: Mapping[str, str], name: str) -> Path:
    raw = environ.get(name, "").strip()
    if not raw:
        raise SettingsError(f"{name} is required (an absolute path)")

    path = Path(raw)
    if not path.is_absolute():
        raise SettingsError(f"{name} must be an absolute path, got {raw!r}")
    return path


def _origins(environ: Mapping[str, str]) -> tuple[str, ...]:
    name = "PARLEY_ALLOWED_ORIGINS"
    raw = environ.get(name, "")
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    if not origins:
        raise SettingsError(
            f"{name} is required: comma-separated origins such as "
            "https://call.example.org"
        )

    for origin in origins:
        if origin == "*":
            raise SettingsError(f"{name} must list origins, never '*'")
        if not _ORIGIN.match(origin):
            raise SettingsError(
                f"{name} holds {origin!r}; an origin is scheme://host[:port]"
                " with scheme http or https and no path"
            )
    return origins


def _proxies(environ: Mapping[str, str]) -> tuple[str, ...]:
    name = "PARLEY_TRUSTED_PROXIES"
    raw = environ.get(name, "")
    proxies = tuple(p.strip() for p in raw.split(",") if p.strip())
    for proxy in proxies:
        if proxy in ("*", "0.0.0.0/0", "::/0"):
            raise SettingsError(
                f"{name} must name the edge hosts, never {proxy!r}"
            )
    return proxies


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the PARLEY_* variables, or raise SettingsError."""
    env = os.environ if environ is None else environ

    recordings = _directory(env, "PARLEY_RECORDINGS_DIR")
    screenshots = _directory(env, "PARLEY_SCREENSHOTS_DIR")
    if recordings == screenshots:
        raise SettingsError(
            "PARLEY_RECORDINGS_DIR and PARLEY_SCREENSHOTS_DIR must differ"
        )

    return Settings(
        room_limit=_integer(env, "PARLEY_ROOM_LIMIT", 2, 2, 16),
        allowed_origins=_origins(env),
        recordings_dir=recordings,
        screenshots_dir=screenshots,
        max_chunk_bytes=_integer(
            env, "PARLEY_MAX_CHUNK_BYTES", 8 * MIB, 1 * KIB, 256 * MIB
        ),
        max_screenshot_bytes=_integer(
            env, "PARLEY_MAX_SCREENSHOT_BYTES", 16 * MIB, 1 * KIB, 256 * MIB
        ),
        max_message_bytes=_integer(
            env, "PARLEY_MAX_MESSAGE_BYTES", 64 * KIB, 1 * KIB, 16 * MIB
        ),
        recording_idle_seconds=_integer(
            env, "PARLEY_RECORDING_IDLE_SECONDS", 300, 1, DAY_S
        ),
        max_recording_bytes=_integer(
            env, "PARLEY_MAX_RECORDING_BYTES", 2 * GIB, 16 * KIB, 1024 * GIB
        ),
        max_recording_seconds=_integer(
            env, "PARLEY_MAX_RECORDING_SECONDS", 4 * HOUR_S, 10, 7 * DAY_S
        ),
        max_recordings_per_client=_integer(
            env, "PARLEY_MAX_RECORDINGS_PER_CLIENT", 2, 1, 16
        ),
        trusted_proxies=_proxies(env),
    )
