"""Fixtures for the browser tests against the deployed lab.

The lab must be up and deployed (`make demo`). Chromium is Debian's; it
trusts the lab's CA through an NSS database in a throwaway HOME, never
by ignoring certificate errors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

REPO = Path(__file__).resolve().parents[2]

CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
PUBLIC_URL = os.environ.get("PARLEY_URL", "https://localhost:8443")
CA_CERT = Path(
    os.environ.get("PARLEY_CA_CERT", REPO / ".lab" / "pki" / "ca.crt")
)
APP_CONTAINER = os.environ.get("PARLEY_APP_CONTAINER", "parley-app1")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def public_url() -> str:
    return PUBLIC_URL.rstrip("/")


@pytest.fixture(scope="session")
def ca_cert() -> Path:
    if not CA_CERT.is_file():
        pytest.fail(
            f"lab CA certificate {CA_CERT} is missing: run `make demo`"
        )
    return CA_CERT


@pytest.fixture(scope="session")
def browser_home(
    tmp_path_factory: pytest.TempPathFactory, ca_cert: Path
) -> Path:
    """A HOME whose NSS database trusts the lab CA and nothing else."""
    certutil = shutil.which("certutil")
    if certutil is None:
        pytest.fail("certutil (Debian's libnss3-tools) is not installed")

    home = tmp_path_factory.mktemp("browser-home")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)

    subprocess.run(
        [certutil, "-d", f"sql:{nssdb}", "-N", "--empty-password"],
        check=True,
    )
    subprocess.run(
        [
            certutil,
            "-d",
            f"sql:{nssdb}",
            "-A",
            "-n",
            "parley-lab-ca",
            "-t",
            "C,,",
            "-i",
            str(ca_cert),
        ],
        check=True,
    )
    return home


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(
    playwright_session: Playwright, browser_home: Path
) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium is missing at {CHROMIUM}")

    env = dict(os.environ, HOME=str(browser_home))
    browser = playwright_session.chromium.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        env=env,
        headless=True,
    )
    yield browser
    browser.close()


def app_host_file(path: str) -> bytes:
    """Read a file as it is stored on the lab's app host."""
    result = subprocess.run(
        ["docker", "exec", APP_CONTAINER, "cat", path],
        check=True,
        capture_output=True,
    )
    return result.stdout


def app_host_run(*command: str) -> str:
    """Run a command on the lab's app host and return its output."""
    result = subprocess.run(
        ["docker", "exec", APP_CONTAINER, *command],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout
