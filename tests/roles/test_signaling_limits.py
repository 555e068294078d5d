"""The signaling role's preflight bounds are the sweeper's own.

The role refuses a retention limit before it touches a host; the app
refuses one past its bounds when the timer runs it. Both must draw the
line at the same place, or a value passes the play and fails every
sweep.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "app" / "src"))

from parley import retention  # noqa: E402


def test_preflight_bounds_equal_the_sweeper_bounds() -> None:
    role_vars = yaml.safe_load(
        (REPO / "roles/signaling/vars/main.yml").read_text()
    )
    bounds = role_vars["_signaling_retention_max"]

    assert bounds == {
        "keep": retention.MAX_KEEP,
        "max_age_days": retention.MAX_AGE_DAYS,
        "bytes": retention.MAX_LIMIT_BYTES,
    }
