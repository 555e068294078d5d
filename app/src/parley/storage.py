"""Small helpers for durable writes: fsync, then rename into place."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any


def fsync_directory(directory: Path) -> None:
    """Make a rename or unlink inside `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_name(path: Path) -> Path:
    """The hidden name `path` is written under before it is renamed."""
    return path.with_name(f".{path.name}.tmp")


def prepare(path: Path, data: bytes) -> Path:
    """Write `data` under the temporary name of `path` and fsync it.

    Returns the temporary file; the caller renames it into place, or
    removes it. Nothing is left behind when the write fails.
    """
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def json_bytes(document: dict[str, Any]) -> bytes:
    """`document` as the indented JSON of the stores' sidecars."""
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return text.encode("utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary name, fsync, then rename to `path`."""
    tmp = prepare(path, data)
    try:
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write `document` as indented JSON, atomically."""
    write_atomic(path, json_bytes(document))


def is_disk_full(error: OSError) -> bool:
    """True when the write failed for lack of space or quota."""
    return error.errno in (errno.ENOSPC, errno.EDQUOT)


def ensure_writable_directory(path: Path) -> None:
    """Create `path` if needed and fail early when it cannot be written."""
    path.mkdir(parents=True, exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"{path} is not writable by this process")
