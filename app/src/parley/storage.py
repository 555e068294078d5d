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


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary name, fsync, then rename to `path`."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write `document` as indented JSON, atomically."""
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    write_atomic(path, text.encode("utf-8"))


def is_disk_full(error: OSError) -> bool:
    """True when the write failed for lack of space or quota."""
    return error.errno in (errno.ENOSPC, errno.EDQUOT)


def ensure_writable_directory(path: Path) -> None:
    """Create `path` if needed and fail early when it cannot be written."""
    path.mkdir(parents=True, exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"{path} is not writable by this process")
