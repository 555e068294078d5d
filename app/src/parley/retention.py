"""Retention: keep the stores within their limits, oldest items first.

logrotate rotates one growing file per path; a store is a folder of
finished items instead. This sweeper keeps logrotate's knobs per store
(keep N, maximum age, maximum total size) plus a minimum of free space
on the store's file system, and is run by a systemd timer:

    parley-retention [--dry-run]

An item is what the app finished as a whole. In the recordings store it
is one recording id with all its `<id>.*` files, finished exactly when
its sidecar `<id>.json` exists: a recording without one is still being
written (or was abandoned when even its failure could not be noted) and
is never touched. In the screenshots store it is one image under the
name the app gives; the app renames images into place whole. Hidden
temporary names and files the app does not name are never touched nor
counted. An item is as old as the newest mtime among its files.

One sweep of a store removes, oldest first: items older than the
maximum age (`age`), items beyond the newest KEEP (`count`), items
until the rest fit in the maximum bytes (`size`), then items until the
file system has the minimum free space (`free`), measured again after
each removal. A limit of 0, or unset, is no limit.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import storage
from .config import SettingsError, _directory, _integer
from .recordings import ID_PATTERN

logger = logging.getLogger(__name__)

Kind = Literal["recordings", "screenshots"]

DAY_S = 24 * 60 * 60
MAX_KEEP = 10_000_000
MAX_AGE_DAYS = 100 * 366
MAX_LIMIT_BYTES = 2**60
SIDECAR = ".json"
HELD = ".held"
# The names ScreenshotStore.save gives: UTC stamp, 8 hex digits, type.
SCREENSHOT_NAME = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}\.(png|jpg)")

FreeBytes = Callable[[Path], int]


@dataclass(frozen=True)
class Limits:
    """What one store may hold; 0 is no limit."""

    keep: int = 0
    max_age_days: int = 0
    max_bytes: int = 0
    min_free_bytes: int = 0


@dataclass(frozen=True)
class RetentionSettings:
    """Both stores and their limits, read once from the environment."""

    recordings_dir: Path
    screenshots_dir: Path
    recordings: Limits
    screenshots: Limits

    def stores(self) -> tuple[tuple[Kind, Path, Limits], ...]:
        """Each store with its kind and limits, recordings first."""
        return (
            ("recordings", self.recordings_dir, self.recordings),
            ("screenshots", self.screenshots_dir, self.screenshots),
        )


@dataclass(frozen=True)
class Item:
    """One finished item: a recording id or a screenshot file name."""

    name: str
    mtime: float
    bytes: int


@dataclass(frozen=True)
class Removal:
    """An item the sweep removed (or, in a dry run, would remove)."""

    item: Item
    reason: str


@dataclass
class SweepReport:
    """The outcome of one sweep of one store."""

    kind: Kind
    kept: int = 0
    removed: list[Removal] = field(default_factory=list)
    failed: list[Item] = field(default_factory=list)
    free_bytes: int = 0

    @property
    def bytes_removed(self) -> int:
        """Bytes of the removed items, as listed before the sweep."""
        return sum(removal.item.bytes for removal in self.removed)


def _limits(environ: Mapping[str, str], prefix: str, free: int) -> Limits:
    return Limits(
        keep=_integer(environ, f"{prefix}_KEEP", 0, 0, MAX_KEEP),
        max_age_days=_integer(
            environ, f"{prefix}_MAX_AGE_DAYS", 0, 0, MAX_AGE_DAYS
        ),
        max_bytes=_integer(
            environ, f"{prefix}_MAX_BYTES", 0, 0, MAX_LIMIT_BYTES
        ),
        min_free_bytes=free,
    )


def load_retention(
    environ: Mapping[str, str] | None = None,
) -> RetentionSettings:
    """Read the stores and their PARLEY_* limits, or raise SettingsError."""
    env = os.environ if environ is None else environ

    recordings = _directory(env, "PARLEY_RECORDINGS_DIR")
    screenshots = _directory(env, "PARLEY_SCREENSHOTS_DIR")
    if recordings == screenshots:
        raise SettingsError(
            "PARLEY_RECORDINGS_DIR and PARLEY_SCREENSHOTS_DIR must differ"
        )

    free = _integer(env, "PARLEY_MIN_FREE_BYTES", 0, 0, MAX_LIMIT_BYTES)
    return RetentionSettings(
        recordings_dir=recordings,
        screenshots_dir=screenshots,
        recordings=_limits(env, "PARLEY_RECORDINGS", free),
        screenshots=_limits(env, "PARLEY_SCREENSHOTS", free),
    )


def free_space(directory: Path) -> int:
    """Bytes an unprivileged process may still write where `directory` is."""
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def _usage(path: Path) -> tuple[float, int]:
    """Newest mtime and total bytes of `path`, a directory's files too."""
    stats = path.lstat()
    mtime, size = stats.st_mtime, stats.st_size
    if stat.S_ISDIR(stats.st_mode):
        for child in path.iterdir():
            child_mtime, child_size = _usage(child)
            mtime = max(mtime, child_mtime)
            size += child_size
    return mtime, size


def _recording_files(store: Path) -> dict[str, list[Path]]:
    """The `<id>.*` names of `store`, by recording id; hidden ones left."""
    files: dict[str, list[Path]] = {}
    for path in store.iterdir():
        stem, dot, _ = path.name.partition(".")
        if dot and ID_PATTERN.fullmatch(stem):
            files.setdefault(stem, []).append(path)
    return files


def _listed(store: Path, kind: Kind) -> Iterator[tuple[str, list[Path]]]:
    """Each finished item of `store` with the files it had when listed."""
    if kind == "screenshots":
        for path in store.iterdir():
            if SCREENSHOT_NAME.fullmatch(path.name) and path.is_file():
                yield path.name, [path]
        return

    for rec_id, paths in _recording_files(store).items():
        if store / f"{rec_id}{SIDECAR}" in paths:
            yield rec_id, paths


def list_items(store: Path, kind: Kind) -> list[Item]:
    """The finished items of `store`, oldest first."""
    items = []
    for name, paths in _listed(store, kind):
        usages = []
        for path in paths:
            # A file removed since the listing (the app removes a
            # recording's .part once its sidecar is written) is not counted.
            with contextlib.suppress(FileNotFoundError):
                usages.append(_usage(path))
        if not usages:
            continue
        items.append(Item(
            name=name,
            mtime=max(mtime for mtime, _ in usages),
            bytes=sum(size for _, size in usages),
        ))
    return sorted(items, key=lambda item: (item.mtime, item.name))


def removal_order(store: Path, kind: Kind, name: str) -> list[Path]:
    """The files of item `name` as they are now, in the order removed.

    A recording's sidecar comes last. It is what makes the recording
    finished: were it removed first, an interrupted sweep would leave a
    `.webm` or `.part` without it, which looks like a recording still
    being written and is then kept forever. Removed last, an interrupted
    sweep leaves a sidecar that still marks the rest as finished, and
    the next sweep completes the removal. The files are listed again
    here, so that one the app renamed in after the listing goes too.
    """
    if kind == "screenshots":
        return [store / name]

    paths = sorted(_recording_files(store).get(name, []))
    sidecar = store / f"{name}{SIDECAR}"
    if sidecar not in paths:
        return []  # gone, or no longer finished: nothing to remove
    return [path for path in paths if path != sidecar] + [sidecar]


def _remove_tree(directory: Path) -> None:
    """Remove `directory` and what it holds; what vanished is fine.

    A link in its place is removed as a link: what it points to, which
    may be the other store, is never entered.
    """
    if directory.is_symlink():
        directory.unlink(missing_ok=True)
        return
    try:
        children = list(directory.iterdir())
    except FileNotFoundError:
        return
    for child in children:
        if child.is_dir() and not child.is_symlink():
            _remove_tree(child)
        else:
            child.unlink(missing_ok=True)
    with contextlib.suppress(FileNotFoundError):
        directory.rmdir()


def _remove_item(store: Path, kind: Kind, name: str) -> None:
    """Remove the files of one item, the sidecar last and durably last.

    Only `<id>.held` is removed as a directory: anything else that is
    not a plain file fails, is logged by the caller and left in place.
    """
    paths = removal_order(store, kind, name)
    if not paths:
        return

    *files, last = paths
    for path in files:
        if path.suffix == HELD:
            _remove_tree(path)
        else:
            path.unlink(missing_ok=True)
    if files:
        # The other files' removal is on disk before the sidecar's.
        storage.fsync_directory(store)
    last.unlink(missing_ok=True)


def sweep(
    store: Path,
    kind: Kind,
    limits: Limits,
    now: float,
    *,
    free_bytes: FreeBytes = free_space,
    dry_run: bool = False,
) -> SweepReport:
    """Remove finished items of `store` beyond `limits`, oldest first.

    `now` is the time ages are counted from (seconds since the epoch);
    `free_bytes` measures the free space of the store's file system. A
    dry run removes nothing and reports what would go; it counts the
    bytes of those items as freed.
    """
    report = SweepReport(kind)
    kept = list_items(store, kind)
    total = sum(item.bytes for item in kept)

    def free() -> int:
        planned = report.bytes_removed if dry_run else 0
        return free_bytes(store) + planned

    def drop(reason: str) -> None:
        nonlocal total
        item = kept.pop(0)
        total -= item.bytes
        _drop(store, item, reason, report, dry_run)

    cutoff = now - limits.max_age_days * DAY_S
    while limits.max_age_days and kept and kept[0].mtime < cutoff:
        drop("age")

    while limits.keep and len(kept) > limits.keep:
        drop("count")

    while limits.max_bytes and total > limits.max_bytes:
        drop("size")

    while limits.min_free_bytes and kept and free() < limits.min_free_bytes:
        drop("free")

    if report.removed and not dry_run:
        storage.fsync_directory(store)

    report.kept = len(kept) + len(report.failed)
    report.free_bytes = free()
    if report.free_bytes < limits.min_free_bytes:
        logger.warning(
            "retention cannot reach free space store=%s free_bytes=%d"
            " min_free_bytes=%d finished_left=%d",
            kind, report.free_bytes, limits.min_free_bytes, report.kept,
        )
    logger.info(
        "retention %s store=%s kept=%d removed=%d bytes_removed=%d"
        " free_bytes=%d",
        "planned" if dry_run else "done",
        kind, report.kept, len(report.removed), report.bytes_removed,
        report.free_bytes,
    )
    return report


def _drop(
    store: Path,
    item: Item,
    reason: str,
    report: SweepReport,
    dry_run: bool,
) -> None:
    """Remove one item, or only report it in a dry run."""
    kind = report.kind
    if dry_run:
        report.removed.append(Removal(item, reason))
        logger.info(
            "retention would remove store=%s item=%s reason=%s bytes=%d",
            kind, item.name, reason, item.bytes,
        )
        return

    try:
        _remove_item(store, kind, item.name)
    except OSError as error:
        report.failed.append(item)
        logger.error(
            "retention remove failed store=%s item=%s reason=%s error=%s",
            kind, item.name, reason, error,
        )
        return

    report.removed.append(Removal(item, reason))
    logger.info(
        "retention removed store=%s item=%s reason=%s bytes=%d",
        kind, item.name, reason, item.bytes,
    )


def _check_stores(settings: RetentionSettings) -> None:
    """Refuse a store that is missing rather than sweep nothing quietly."""
    for name, store in (
        ("PARLEY_RECORDINGS_DIR", settings.recordings_dir),
        ("PARLEY_SCREENSHOTS_DIR", settings.screenshots_dir),
    ):
        if not store.is_dir():
            raise SettingsError(f"{name} names {store}, not a directory")


def main(argv: Sequence[str] | None = None) -> int:
    """Sweep both stores once: 0 done, 1 a removal failed, 2 bad setup."""
    parser = argparse.ArgumentParser(
        prog="parley-retention",
        description="Remove finished recordings and screenshots beyond "
        "the PARLEY_* retention limits, oldest first.",
    )
    parser.add_argument(
        "--dry-run", action="store_true",
        help="report what would be removed and remove nothing",
    )
    args = parser.parse_args(argv)

    try:
        settings = load_retention()
        _check_stores(settings)
    except SettingsError as error:
        print(f"parley-retention: {error}", file=sys.stderr)
        return 2

    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            stream=sys.stderr,
            format="%(levelname)s %(name)s: %(message)s",
        )

    now = time.time()
    failed = False
    for kind, store, limits in settings.stores():
        report = sweep(store, kind, limits, now, dry_run=args.dry_run)
        failed = failed or bool(report.failed)
    return 1 if failed else 0


if __name__ == "__main__":
    # `python -m parley.retention` runs this file as __main__; the
    # package's own copy logs as parley.retention, as the script does.
    from parley.retention import main as package_main

    sys.exit(package_main())
