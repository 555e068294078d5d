"""Each role's argument spec and its defaults describe the same options.

The spec documents every default; a default that the spec does not know,
or a spec option with a default that defaults/ does not set, is drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
ROLE_NAMES = sorted(p.name for p in ROLES.iterdir() if p.is_dir())


def load(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream) or {}


def test_every_role_is_found() -> None:
    assert {"pki", "nginx", "signaling"} <= set(ROLE_NAMES)


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_spec_and_defaults_name_the_same_options(role: str) -> None:
    spec = load(ROLES / role / "meta" / "argument_specs.yml")
    defaults = load(ROLES / role / "defaults" / "main.yml")
    options = spec["argument_specs"]["main"]["options"]

    with_default = {
        name
        for name, option in options.items()
        if not option.get("required", False)
    }

    assert set(defaults) == with_default


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_spec_defaults_equal_the_defaults_file(role: str) -> None:
    spec = load(ROLES / role / "meta" / "argument_specs.yml")
    defaults = load(ROLES / role / "defaults" / "main.yml")
    options = spec["argument_specs"]["main"]["options"]

    drifted = [
        name
        for name, value in defaults.items()
        if options[name].get("default") != value
    ]
    assert drifted == []


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_option_has_a_description(role: str) -> None:
    spec = load(ROLES / role / "meta" / "argument_specs.yml")
    options = spec["argument_specs"]["main"]["options"]

    undocumented = [
        name
        for name, option in options.items()
        if not option.get("description")
    ]
    assert undocumented == []
