"""A call in progress survives a certificate renewal of the edge.

Two pages hold a call through the lab; `playbooks/renew-certs.yml` forces
a new certificate for the edge meanwhile. Afterwards the edge serves the
new serial (and a chain that verifies against the root alone), video
keeps being decoded on both pages, and both members are still in the
room: the signaling socket stayed up, or came back and rejoined by itself.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from calls import (
    Caller,
    frames_decoded,
    one_more_caller,
    two_callers,
    wait_for_more_frames,
    wait_for_remote_size,
)
from conftest import REPO
from cryptography import x509
from playwright.sync_api import Browser, Page, expect

EDGE_HOST = "web1"
EDGE_CONTAINER = "parley-web1"
RENEW_TIMEOUT_S = 300
REJOIN_DEADLINE_S = 10
ROOM_FULL_TIMEOUT_MS = 15_000

# Every text the page shows in #status, kept in order for the assertions.
STATUS_LOG = """() => {
  window.statusLog = [];
  const status = document.querySelector('#status');
  new MutationObserver(() => window.statusLog.push(status.textContent))
    .observe(status, { childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture()
def call_in_room(
    browser: Browser, public_url: str
) -> Iterator[tuple[str, Caller, Caller]]:
    """Two callers in one fresh room, with video flowing both ways."""
    with two_callers(browser, public_url, "renew") as (room, alice, bob):
        wait_for_remote_size(alice, bob)
        wait_for_remote_size(bob, alice)
        yield room, alice, bob


def served_certificate(public_url: str, ca_cert: Path) -> x509.Certificate:
    """The leaf the edge sends, after verifying its chain with the root
    alone (the intermediate must come from the edge)."""
    url = urlsplit(public_url)
    context = ssl.create_default_context(cafile=str(ca_cert))
    host = url.hostname or "localhost"
    with (
        socket.create_connection((host, url.port or 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def edge_certificate_serial() -> int:
    """Serial of the certificate file on the edge host."""
    result = subprocess.run(
        [
            "docker",
            "exec",
            EDGE_CONTAINER,
            "openssl",
            "x509",
            "-noout",
            "-serial",
            "-in",
            f"/etc/parley/tls/{EDGE_HOST}.crt",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(result.stdout.strip().split("=", 1)[1], 16)


def force_renewal() -> subprocess.CompletedProcess[str]:
    """Run the renewal playbook from the control node's virtualenv."""
    playbook = Path(sys.executable).parent / "ansible-playbook"
    return subprocess.run(
        [
            str(playbook),
            "playbooks/renew-certs.yml",
            "-e",
            f"pki_force_renew={EDGE_HOST}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RENEW_TIMEOUT_S,
    )


def wait_until_in_room(page: Page, room: str) -> None:
    deadline = time.monotonic() + REJOIN_DEADLINE_S
    while time.monotonic() < deadline:
        if page.evaluate("() => window.parley.room()") == room:
            return
        page.wait_for_timeout(250)
    pytest.fail(f"the page is not back in room {room} within the deadline")


def assert_every_leave_is_followed_by_a_rejoin(log: list[str]) -> None:
    """A peer-left (shown as "reconnecting") must be followed by the same
    member rejoining; the page's own reconnect by its own rejoin."""
    peer_away = False
    self_away = False
    for text in log:
        if text == "the other member is reconnecting":
            peer_away = True
        elif text.endswith(" rejoined"):
            peer_away = False
        elif text.endswith(", reconnecting"):
            self_away = True
        elif text.startswith("rejoined "):
            self_away = False
    assert not peer_away and not self_away, log


def test_a_forced_renewal_keeps_the_call_and_serves_the_new_serial(
    call_in_room: tuple[str, Caller, Caller],
    browser: Browser,
    public_url: str,
    ca_cert: Path,
) -> None:
    room, alice, bob = call_in_room
    before = served_certificate(public_url, ca_cert).serial_number
    frames = {c.name: wait_for_more_frames(c.page, 0) for c in (alice, bob)}
    for caller in (alice, bob):
        caller.page.evaluate(STATUS_LOG)

    run = force_renewal()

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    after = served_certificate(public_url, ca_cert).serial_number
    assert after != before
    assert after == edge_certificate_serial()

    for caller in (alice, bob):
        wait_until_in_room(caller.page, room)
        more = wait_for_more_frames(caller.page, frames[caller.name])
        assert more > frames[caller.name] > 0
        log = caller.page.evaluate("() => window.statusLog")
        assert "the other member left" not in log, log
        assert_every_leave_is_followed_by_a_rejoin(log)
        assert frames_decoded(caller.page) >= more

    # Both members hold the room's two places on the server: a third
    # page is refused.
    with one_more_caller(browser, public_url, room, "eve") as page:
        expect(page.locator("#status")).to_contain_text(
            "room_full", timeout=ROOM_FULL_TIMEOUT_MS
        )
