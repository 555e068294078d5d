"""The signaling role's preflight refuses bad settings, naming the limit.

Each case runs the role's preflight phase alone (its tag) on the control
node with one bad setting, through ansible-playbook as a user would: the
play must fail there, before any other phase could touch a host.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN_DEADLINE_S = 120
GOOD = {"parley_public_urls": ["https://localhost:8443"]}
PLAY = """---
- name: Check the signaling role's inputs
  hosts: localhost
  connection: local
  gather_facts: true
  roles:
    - role: signaling
"""


def run_preflight(tmp_path: Path, settings: dict[str, object]) -> str:
    """Run the preflight with `settings`; return what the failure said."""
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(PLAY)
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({**GOOD, **settings}))
    venv_bin = Path(sys.executable).parent
    ansible = shutil.which("ansible-playbook", path=venv_bin)
    assert ansible is not None, "ansible-playbook is not in the venv"

    result = subprocess.run(
        [
            ansible, str(playbook), "--tags", "signaling_preflight",
            "-i", "localhost,", "-e", f"@{extra}",
            "-e", f"ansible_python_interpreter={sys.executable}",
        ],
        env={**os.environ, "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
             "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
        check=False,
    )
    return f"rc={result.returncode}\n{result.stdout}{result.stderr}"


def test_good_settings_pass_the_preflight(tmp_path: Path) -> None:
    output = run_preflight(tmp_path, {})

    assert output.startswith("rc=0\n"), output


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"signaling_workers": 2}, "exactly one worker"),
        ({"signaling_recordings_keep": 10_000_001}, "to 10000000"),
        ({"signaling_screenshots_max_age_days": 36_601}, "to 36600"),
        ({"signaling_min_free_bytes": 2**60 + 1}, "to 1152921504606846976"),
        ({"signaling_recordings_max_bytes": -5}, "whole numbers"),
        ({"signaling_retention_interval": "fifteen"}, "systemd time span"),
        ({"parley_public_urls": ["*"]}, "never '*'"),
    ],
)
def test_bad_setting_fails_the_preflight_naming_its_limit(
    tmp_path: Path, settings: dict[str, object], named: str
) -> None:
    output = run_preflight(tmp_path, settings)

    assert not output.startswith("rc=0\n"), output
    assert named in " ".join(output.split()), output
