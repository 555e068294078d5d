"""Retention: finished items go oldest first; nothing in progress ever."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from parley.retention import (
    Limits,
    Removal,
    list_items,
    load_retention,
    main,
    removal_order,
    sweep,
)

APP_DIR = Path(__file__).resolve().parents[1]
NOW = 1_800_000_000.0
DAY_S = 86_400
GIB = 1024**3
RUN_DEADLINE_S = 30.0


def rec_id(number: int) -> str:
    return f"{number:032x}"


def shot_name(number: int, extension: str = "png") -> str:
    return f"20240101T1200{number:02d}Z-{number:08x}.{extension}"


def age(paths: list[Path], days: float, now: float = NOW) -> None:
    when = now - days * DAY_S
    for path in paths:
        os.utime(path, (when, when))


def write(path: Path, size: int) -> Path:
    path.write_bytes(b"x" * size)
    return path


def make_recording(
    store: Path,
    number: int,
    days: float,
    size: int = 100,
    finished: bool = True,
    now: float = NOW,
) -> list[Path]:
    """A recording's files: `.webm` and `.json` when finished, else `.part`."""
    base = rec_id(number)
    if finished:
        paths = [write(store / f"{base}.webm", size)]
        paths.append(write(store / f"{base}.json", 10))
    else:
        paths = [write(store / f"{base}.part", size)]
    age(paths, days, now)
    return paths


def make_shot(
    store: Path, number: int, days: float, size: int = 100
) -> Path:
    path = write(store / shot_name(number), size)
    age([path], days)
    return path


def used_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in store.rglob("*") if p.is_file())


def disk(capacity: int) -> Callable[[Path], int]:
    """Free space of a pretend file system that holds only `store`."""
    def free(store: Path) -> int:
        return capacity - used_bytes(store)
    return free


def removed_names(removals: list[Removal]) -> list[str]:
    return [removal.item.name for removal in removals]


def test_in_progress_recording_is_never_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="parley.retention")
    base = rec_id(1)
    part = tmp_path / f"{base}.part"
    part.touch()
    os.truncate(part, 10 * GIB)  # sparse: huge, yet no disk used
    held = tmp_path / f"{base}.held"
    held.mkdir()
    chunk = write(held / "7", 100)
    age([part, chunk, held], 1000)
    make_recording(tmp_path, 2, days=1000)
    limits = Limits(keep=1, max_age_days=1, max_bytes=1, min_free_bytes=GIB)

    report = sweep(
        tmp_path, "recordings", limits, NOW, free_bytes=lambda _: 0
    )

    assert part.stat().st_size == 10 * GIB
    assert chunk.exists()
    assert removed_names(report.removed) == [rec_id(2)]
    assert report.kept == 0
    assert "cannot reach free space store=recordings" in caplog.text


def test_items_older_than_max_age_go(tmp_path: Path) -> None:
    for number, days in ((1, 10), (2, 5), (3, 1)):
        make_recording(tmp_path, number, days)

    report = sweep(tmp_path, "recordings", Limits(max_age_days=3), NOW)

    assert removed_names(report.removed) == [rec_id(1), rec_id(2)]
    assert {r.reason for r in report.removed} == {"age"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"{rec_id(3)}.json", f"{rec_id(3)}.webm",
    ]


def test_only_the_newest_keep_items_stay(tmp_path: Path) -> None:
    for number in range(5):
        make_shot(tmp_path, number, days=10 - number)

    report = sweep(tmp_path, "screenshots", Limits(keep=2), NOW)

    assert {r.reason for r in report.removed} == {"count"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        shot_name(3), shot_name(4),
    ]
    assert report.kept == 2


def test_oldest_items_go_until_within_max_bytes(tmp_path: Path) -> None:
    for number in range(4):
        make_shot(tmp_path, number, days=10 - number, size=100)

    report = sweep(tmp_path, "screenshots", Limits(max_bytes=250), NOW)

    assert removed_names(report.removed) == [shot_name(0), shot_name(1)]
    assert {r.reason for r in report.removed} == {"size"}
    assert report.bytes_removed == 200
    assert used_bytes(tmp_path) == 200


def test_oldest_items_go_until_min_free_is_reached(tmp_path: Path) -> None:
    for number in range(4):
        make_shot(tmp_path, number, days=10 - number, size=1000)
    free = disk(capacity=5000)

    report = sweep(
        tmp_path, "screenshots", Limits(min_free_bytes=2500), NOW,
        free_bytes=free,
    )

    assert removed_names(report.removed) == [shot_name(0), shot_name(1)]
    assert {r.reason for r in report.removed} == {"free"}
    assert report.free_bytes == 3000
    assert free(tmp_path) >= 2500


def test_removal_goes_oldest_first_whatever_the_names(tmp_path: Path) -> None:
    # Names sort the other way round from ages.
    for number, days in ((1, 1), (2, 3), (3, 2), (4, 9)):
        make_recording(tmp_path, number, days)

    report = sweep(tmp_path, "recordings", Limits(keep=1), NOW)

    assert removed_names(report.removed) == [rec_id(4), rec_id(2), rec_id(3)]
    assert [item.name for item in list_items(tmp_path, "recordings")] == [
        rec_id(1),
    ]


def test_age_is_the_newest_mtime_and_bytes_count_every_file(
    tmp_path: Path,
) -> None:
    webm, sidecar = make_recording(tmp_path, 1, days=30, size=300)
    part = write(tmp_path / f"{rec_id(1)}.part", 50)
    held = tmp_path / f"{rec_id(1)}.held"
    held.mkdir()
    chunk = write(held / "4", 20)
    age([webm, sidecar, part, held], 30)
    age([chunk], 2)

    (item,) = list_items(tmp_path, "recordings")
    report = sweep(tmp_path, "recordings", Limits(max_age_days=3), NOW)

    assert item.mtime == NOW - 2 * DAY_S
    assert item.bytes == 300 + 10 + 50 + 20 + held.stat().st_size
    assert report.removed == []


def test_sidecar_is_removed_last(tmp_path: Path) -> None:
    make_recording(tmp_path, 1, days=30)
    write(tmp_path / f"{rec_id(1)}.part", 50)
    (tmp_path / f"{rec_id(1)}.held").mkdir()

    order = removal_order(tmp_path, "recordings", rec_id(1))

    assert [p.name for p in order][-1] == f"{rec_id(1)}.json"
    assert len(order) == 4


def test_removing_a_recording_removes_all_its_files(tmp_path: Path) -> None:
    paths = make_recording(tmp_path, 1, days=30)
    paths.append(write(tmp_path / f"{rec_id(1)}.part", 50))
    held = tmp_path / f"{rec_id(1)}.held"
    held.mkdir()
    paths += [write(held / "3", 20), write(held / "9", 20), held]
    age(paths, 30)

    report = sweep(tmp_path, "recordings", Limits(max_age_days=1), NOW)

    assert removed_names(report.removed) == [rec_id(1)]
    assert report.failed == []
    assert list(tmp_path.iterdir()) == []


def test_a_link_in_place_of_held_chunks_is_removed_not_followed(
    tmp_path: Path,
) -> None:
    store = tmp_path / "recordings"
    other = tmp_path / "screenshots"
    store.mkdir()
    other.mkdir()
    outside = write(other / shot_name(1), 100)
    paths = make_recording(store, 1, days=30)
    link = store / f"{rec_id(1)}.held"
    link.symlink_to(other, target_is_directory=True)
    when = NOW - 30 * DAY_S
    os.utime(link, (when, when), follow_symlinks=False)

    report = sweep(store, "recordings", Limits(max_age_days=1), NOW)

    assert removed_names(report.removed) == [rec_id(1)]
    assert not link.is_symlink()
    assert not any(path.exists() for path in paths)
    assert outside.read_bytes() == b"x" * 100


def test_interrupted_removal_keeps_the_sidecar(tmp_path: Path) -> None:
    base = rec_id(1)
    sidecar = write(tmp_path / f"{base}.json", 10)
    part = write(tmp_path / f"{base}.part", 50)
    # A directory where the video should be: its unlink fails, as root too.
    blocker = tmp_path / f"{base}.webm"
    blocker.mkdir()
    age([sidecar, part, blocker], 30)

    first = sweep(tmp_path, "recordings", Limits(max_age_days=1), NOW)

    assert [item.name for item in first.failed] == [base]
    assert first.removed == []
    assert sidecar.exists()
    assert not part.exists()
    assert [i.name for i in list_items(tmp_path, "recordings")] == [base]

    blocker.rmdir()
    second = sweep(tmp_path, "recordings", Limits(max_age_days=1), NOW)

    assert removed_names(second.removed) == [base]
    assert list(tmp_path.iterdir()) == []


def test_hidden_temporary_and_unknown_files_are_untouched(
    tmp_path: Path,
) -> None:
    make_recording(tmp_path, 1, days=30)
    in_progress = write(tmp_path / f"{rec_id(2)}.part", 10)
    others = [
        in_progress,
        write(tmp_path / f".{rec_id(2)}.json.tmp", 10),
        write(tmp_path / f".{rec_id(1)}.tmp.webm", 10),
        write(tmp_path / "notes.txt", 10),
        write(tmp_path / f"{rec_id(3).upper()}A.json", 10),
        write(tmp_path / f"{rec_id(3)}0.json", 10),
    ]
    huge = tmp_path / "unknown.bin"
    huge.touch()
    os.truncate(huge, GIB)
    others.append(huge)
    age(others, 30)

    items = list_items(tmp_path, "recordings")
    report = sweep(
        tmp_path, "recordings", Limits(max_age_days=1, max_bytes=1), NOW
    )

    assert [item.name for item in items] == [rec_id(1)]
    assert removed_names(report.removed) == [rec_id(1)]
    assert all(path.exists() for path in others)


def test_unknown_files_do_not_count_towards_max_bytes(
    tmp_path: Path,
) -> None:
    make_shot(tmp_path, 1, days=5, size=100)
    huge = tmp_path / "unknown.png"
    huge.touch()
    os.truncate(huge, GIB)

    report = sweep(tmp_path, "screenshots", Limits(max_bytes=1000), NOW)

    assert report.removed == []
    assert report.kept == 1


@pytest.mark.parametrize(
    ("name", "is_item"),
    [
        (shot_name(1, "png"), True),
        (shot_name(2, "jpg"), True),
        (shot_name(3, "jpeg"), False),
        (shot_name(4, "PNG"), False),
        ("20240101T120000Z-0000ABCD.png", False),
        ("20240101T120000Z-000abcd.png", False),
        ("20240101-120000Z-0000abcd.png", False),
        (f".{shot_name(5)}.tmp", False),
        (f"{shot_name(6)}.tmp", False),
        ("holiday.png", False),
    ],
)
def test_only_names_the_app_gives_are_screenshots(
    tmp_path: Path, name: str, is_item: bool
) -> None:
    path = write(tmp_path / name, 100)
    age([path], 30)

    report = sweep(tmp_path, "screenshots", Limits(max_age_days=1), NOW)

    assert path.exists() is not is_item
    assert len(report.removed) == int(is_item)


def test_dry_run_reports_and_removes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="parley.retention")
    paths = [make_shot(tmp_path, n, days=10 - n, size=1000) for n in range(4)]

    report = sweep(
        tmp_path, "screenshots", Limits(min_free_bytes=2500), NOW,
        free_bytes=disk(capacity=5000), dry_run=True,
    )

    assert removed_names(report.removed) == [shot_name(0), shot_name(1)]
    assert all(path.exists() for path in paths)
    assert (
        f"retention would remove store=screenshots item={shot_name(0)}"
        " reason=free bytes=1000" in caplog.text
    )
    assert "retention removed" not in caplog.text


def test_vanished_file_is_not_an_error(tmp_path: Path) -> None:
    make_shot(tmp_path, 1, days=3)
    second = make_shot(tmp_path, 2, days=2)
    calls = []

    def free_and_vanish(store: Path) -> int:
        # Something else removes the next item while the sweep runs.
        calls.append(store)
        second.unlink(missing_ok=True)
        return 0

    report = sweep(
        tmp_path, "screenshots", Limits(min_free_bytes=1), NOW,
        free_bytes=free_and_vanish,
    )

    assert calls
    assert report.failed == []
    assert removed_names(report.removed) == [shot_name(1), shot_name(2)]


def test_no_limits_remove_nothing(tmp_path: Path) -> None:
    make_recording(tmp_path, 1, days=5000, size=10_000)

    report = sweep(tmp_path, "recordings", Limits(), NOW)

    assert report.removed == []
    assert report.kept == 1


def test_limits_are_read_per_store(tmp_path: Path) -> None:
    env = {
        "PARLEY_RECORDINGS_DIR": str(tmp_path / "r"),
        "PARLEY_SCREENSHOTS_DIR": str(tmp_path / "s"),
        "PARLEY_RECORDINGS_KEEP": "10",
        "PARLEY_RECORDINGS_MAX_AGE_DAYS": "30",
        "PARLEY_SCREENSHOTS_MAX_BYTES": "1000000",
        "PARLEY_SCREENSHOTS_KEEP": "0",
        "PARLEY_MIN_FREE_BYTES": "5000",
    }

    settings = load_retention(env)

    assert settings.recordings == Limits(10, 30, 0, 5000)
    assert settings.screenshots == Limits(0, 0, 1_000_000, 5000)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PARLEY_RECORDINGS_KEEP", "-1"),
        ("PARLEY_RECORDINGS_MAX_AGE_DAYS", "ten"),
        ("PARLEY_RECORDINGS_MAX_BYTES", str(2**61)),
        ("PARLEY_SCREENSHOTS_KEEP", "1.5"),
        ("PARLEY_SCREENSHOTS_MAX_AGE_DAYS", "99999999"),
        ("PARLEY_SCREENSHOTS_MAX_BYTES", "8 MiB"),
        ("PARLEY_MIN_FREE_BYTES", "1G"),
        ("PARLEY_RECORDINGS_DIR", "relative/path"),
        ("PARLEY_SCREENSHOTS_DIR", ""),
    ],
)
def test_bad_setting_exits_2_naming_the_variable(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
) -> None:
    stores = _stores(tmp_path)
    old = make_shot(stores["PARLEY_SCREENSHOTS_DIR"], 1, days=30)
    _set_env(monkeypatch, {
        **{k: str(v) for k, v in stores.items()},
        "PARLEY_SCREENSHOTS_MAX_AGE_DAYS": "1",
        name: value,
    })

    code = main([])

    err = capsys.readouterr().err
    assert code == 2
    assert name in err
    assert err.count("\n") == 1
    assert old.exists()


def test_missing_store_exits_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stores = _stores(tmp_path)
    stores["PARLEY_SCREENSHOTS_DIR"].rmdir()
    _set_env(monkeypatch, {k: str(v) for k, v in stores.items()})

    code = main([])

    err = capsys.readouterr().err
    assert code == 2
    assert "PARLEY_SCREENSHOTS_DIR" in err
    assert "not a directory" in err


def test_console_script_is_declared() -> None:
    project = tomllib.loads((APP_DIR / "pyproject.toml").read_text())

    scripts = project["project"]["scripts"]

    assert scripts["parley-retention"] == "parley.retention:main"


def _stores(tmp_path: Path) -> dict[str, Path]:
    stores = {
        "PARLEY_RECORDINGS_DIR": tmp_path / "recordings",
        "PARLEY_SCREENSHOTS_DIR": tmp_path / "screenshots",
    }
    for store in stores.values():
        store.mkdir()
    return stores


def _set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key in list(os.environ):
        if key.startswith("PARLEY_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def _run(
    env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY")}
    return subprocess.run(
        [sys.executable, "-m", "parley.retention", *args],
        env={**clean, "PYTHONPATH": str(APP_DIR / "src"), **env},
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
        check=False,
    )


def test_main_sweeps_both_stores_and_logs_each_removal(
    tmp_path: Path,
) -> None:
    stores = _stores(tmp_path)
    recordings = stores["PARLEY_RECORDINGS_DIR"]
    screenshots = stores["PARLEY_SCREENSHOTS_DIR"]
    now = time.time()
    make_recording(recordings, 1, days=40, size=500, now=now)
    make_recording(recordings, 2, days=1, size=500, now=now)
    make_recording(recordings, 3, days=90, finished=False, now=now)
    for number in range(3):
        path = write(screenshots / shot_name(number), 100)
        age([path], 3 - number, now)
    old = list_items(recordings, "recordings")[0]

    result = _run({
        **{k: str(v) for k, v in stores.items()},
        "PARLEY_RECORDINGS_MAX_AGE_DAYS": "30",
        "PARLEY_SCREENSHOTS_KEEP": "1",
    })

    assert result.returncode == 0, result.stderr
    assert (
        f"retention removed store=recordings item={rec_id(1)} reason=age"
        f" bytes={old.bytes}"
    ) in result.stderr
    assert (
        "retention done store=recordings kept=1 removed=1 bytes_removed="
        f"{old.bytes} free_bytes=" in result.stderr
    )
    assert (
        "retention done store=screenshots kept=1 removed=2"
        in result.stderr
    )
    assert sorted(p.name for p in recordings.iterdir()) == [
        f"{rec_id(2)}.json", f"{rec_id(2)}.webm", f"{rec_id(3)}.part",
    ]
    assert [p.name for p in screenshots.iterdir()] == [shot_name(2)]


def test_main_dry_run_prints_and_keeps_everything(tmp_path: Path) -> None:
    stores = _stores(tmp_path)
    recordings = stores["PARLEY_RECORDINGS_DIR"]
    paths = make_recording(recordings, 1, days=40, now=time.time())

    result = _run(
        {
            **{k: str(v) for k, v in stores.items()},
            "PARLEY_RECORDINGS_MAX_AGE_DAYS": "30",
        },
        "--dry-run",
    )

    assert result.returncode == 0, result.stderr
    assert (
        f"retention would remove store=recordings item={rec_id(1)}"
        " reason=age" in result.stderr
    )
    assert (
        "retention planned store=recordings kept=0 removed=1"
        in result.stderr
    )
    assert all(path.exists() for path in paths)


def test_main_exits_1_when_a_removal_fails_and_goes_on(
    tmp_path: Path,
) -> None:
    stores = _stores(tmp_path)
    recordings = stores["PARLEY_RECORDINGS_DIR"]
    now = time.time()
    sidecar = write(recordings / f"{rec_id(1)}.json", 10)
    blocker = recordings / f"{rec_id(1)}.webm"
    blocker.mkdir()  # where the video should be: it cannot be unlinked
    age([sidecar, blocker], 40, now)
    make_recording(recordings, 2, days=50, now=now)
    shot = write(stores["PARLEY_SCREENSHOTS_DIR"] / shot_name(1), 100)
    age([shot], 40, now)

    result = _run({
        **{k: str(v) for k, v in stores.items()},
        "PARLEY_RECORDINGS_MAX_AGE_DAYS": "30",
        "PARLEY_SCREENSHOTS_MAX_AGE_DAYS": "30",
    })

    assert result.returncode == 1, result.stderr
    assert (
        f"retention remove failed store=recordings item={rec_id(1)}"
        in result.stderr
    )
    assert sidecar.exists()
    assert not (recordings / f"{rec_id(2)}.json").exists()
    assert not shot.exists()
