"""Settings: read once from PARLEY_*, refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.config import KIB, MIB, SettingsError, load_settings

GOOD = {
    "PARLEY_ROOM_LIMIT": "2",
    "PARLEY_ALLOWED_ORIGINS": "https://localhost:8443, https://web1:443",
    "PARLEY_RECORDINGS_DIR": "/var/lib/parley/recordings",
    "PARLEY_SCREENSHOTS_DIR": "/var/lib/parley/screenshots",
    "PARLEY_MAX_CHUNK_BYTES": str(8 * MIB),
    "PARLEY_MAX_SCREENSHOT_BYTES": str(16 * MIB),
    "PARLEY_MAX_MESSAGE_BYTES": str(64 * KIB),
}


def test_lab_values_are_read() -> None:
    settings = load_settings(GOOD)

    assert settings.room_limit == 2
    assert settings.allowed_origins == (
        "https://localhost:8443", "https://web1:443",
    )
    assert settings.recordings_dir == Path("/var/lib/parley/recordings")
    assert settings.max_chunk_bytes == 8 * MIB
    assert settings.max_message_bytes == 64 * KIB


def test_limits_have_defaults() -> None:
    env = {
        k: v for k, v in GOOD.items()
        if not k.startswith("PARLEY_MAX") and k != "PARLEY_ROOM_LIMIT"
    }

    settings = load_settings(env)

    assert settings.room_limit == 2
    assert settings.max_screenshot_bytes == 16 * MIB
    assert settings.max_recording_bytes == 2 * 1024 * MIB
    assert settings.max_recording_seconds == 4 * 3600
    assert settings.max_recordings_per_client == 2


def test_recording_caps_are_read() -> None:
    env = {
        **GOOD,
        "PARLEY_MAX_RECORDING_BYTES": str(100 * MIB),
        "PARLEY_MAX_RECORDING_SECONDS": "600",
        "PARLEY_MAX_RECORDINGS_PER_CLIENT": "1",
    }

    settings = load_settings(env)

    assert settings.max_recording_bytes == 100 * MIB
    assert settings.max_recording_seconds == 600
    assert settings.max_recordings_per_client == 1


def test_settings_are_frozen() -> None:
    settings = load_settings(GOOD)

    with pytest.raises(AttributeError):
        settings.room_limit = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("PARLEY_ALLOWED_ORIGINS", "*", "never '*'"),
        ("PARLEY_ALLOWED_ORIGINS", "", "is required"),
        ("PARLEY_ALLOWED_ORIGINS", "https://a/path", "no path"),
        ("PARLEY_ALLOWED_ORIGINS", "ftp://a", "scheme"),
        ("PARLEY_ROOM_LIMIT", "1", "between 2 and"),
        ("PARLEY_ROOM_LIMIT", "two", "whole number"),
        ("PARLEY_MAX_CHUNK_BYTES", "8MiB", "whole number"),
        ("PARLEY_MAX_CHUNK_BYTES", "-5", "whole number"),
        ("PARLEY_MAX_MESSAGE_BYTES", "0", "between"),
        ("PARLEY_RECORDINGS_DIR", "relative/dir", "absolute"),
        ("PARLEY_RECORDINGS_DIR", "", "is required"),
        ("PARLEY_SCREENSHOTS_DIR", "/var/lib/parley/recordings", "differ"),
        ("PARLEY_MAX_RECORDING_BYTES", "1024", "between"),
        ("PARLEY_MAX_RECORDING_SECONDS", "0", "between"),
        ("PARLEY_MAX_RECORDINGS_PER_CLIENT", "0", "between"),
        ("PARLEY_MAX_RECORDINGS_PER_CLIENT", "1.5", "whole number"),
    ],
)
def test_bad_values_are_refused_by_name(
    name: str, value: str, words: str
) -> None:
    env = {**GOOD, name: value}

    with pytest.raises(SettingsError) as refused:
        load_settings(env)

    assert words in str(refused.value)
