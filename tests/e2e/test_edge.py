"""The edge as a browser meets it: https only, and one origin for all.

The call page and an internal service the edge publishes under a path of
the same origin (the lab service on app1, /lab-service/) are loaded in
Debian's Chromium; every URL either page requests is collected, and none
may be http:// or ws:// (F06). Plain http redirects to https, content-
hashed client files come from the edge's cache, and the trust page and
the CA certificate are there for browsers that do not trust it yet.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

HTTP_URL = os.environ.get("PARLEY_HTTP_URL", "http://localhost:8080")
# The same edge by address: a second public URL of the lab's inventory.
IP_URL = os.environ.get("PARLEY_IP_URL", "https://127.0.0.1:8443")
IP_HTTP_URL = os.environ.get("PARLEY_IP_HTTP_URL", "http://127.0.0.1:8080")
SERVICE_PATH = "/lab-service/"
CONNECT_TIMEOUT_MS = 20_000
HASHED_SCRIPT = re.compile(r'src="(/static/dist/parley-[A-Z0-9]+\.js)"')


class RecordedPage:
    """A page and every URL it asked for, WebSockets included."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.urls: list[str] = []
        self.console: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("websocket", lambda socket: self.urls.append(socket.url))
        page.on("console", lambda message: self.console.append(message.text))

    def insecure_urls(self) -> list[str]:
        return [
            url for url in self.urls if url.startswith(("http://", "ws://"))
        ]


@pytest.fixture()
def recorded(browser: Browser) -> Iterator[RecordedPage]:
    context = browser.new_context()
    yield RecordedPage(context.new_page())
    context.close()


def join_on_websocket(recorded: RecordedPage, base_url: str) -> str:
    """Join a fresh room at `base_url`; wait for the WebSocket transport."""
    room = f"edge-{uuid.uuid4().hex[:8]}"
    recorded.page.goto(f"{base_url}/?room={room}&name=edge")
    recorded.page.click("#join")
    recorded.page.wait_for_function(
        "() => window.parley.transport() === 'websocket'",
        timeout=CONNECT_TIMEOUT_MS,
    )
    return room


def test_call_page_requests_only_https_and_wss(
    recorded: RecordedPage, public_url: str
) -> None:
    join_on_websocket(recorded, public_url)

    assert recorded.insecure_urls() == []
    assert any(url.startswith("wss://") for url in recorded.urls)
    assert not [text for text in recorded.console if "Mixed Content" in text]


def test_call_page_by_address_connects_over_websocket(
    recorded: RecordedPage,
) -> None:
    # The certificate names 127.0.0.1 as an IP and the app allows the
    # origin of every public URL, so the page is as good by address.
    room = join_on_websocket(recorded, IP_URL)

    expect(recorded.page.locator("#status")).to_have_text(f"joined {room}")
    assert recorded.insecure_urls() == []
    assert any(
        url.startswith("wss://127.0.0.1:8443/") for url in recorded.urls
    )


def test_plain_http_by_address_redirects_to_the_same_address() -> None:
    answer = requests.get(
        f"{IP_HTTP_URL}/?room=a", allow_redirects=False, timeout=10
    )

    assert answer.status_code == 301
    assert answer.headers["Location"] == f"{IP_URL}/?room=a"


def test_internal_service_is_reached_through_the_edge(
    recorded: RecordedPage, public_url: str
) -> None:
    recorded.page.goto(f"{public_url}{SERVICE_PATH}")

    expect(recorded.page.locator("#status")).to_have_text(
        "ok", timeout=CONNECT_TIMEOUT_MS
    )
    expect(recorded.page.locator("#echo")).to_have_text(
        "echo ping", timeout=CONNECT_TIMEOUT_MS
    )
    assert recorded.insecure_urls() == []
    assert f"{public_url}{SERVICE_PATH}api/status" in recorded.urls
    assert (
        public_url.replace("https://", "wss://", 1) + f"{SERVICE_PATH}ws"
        in recorded.urls
    )


def test_internal_service_cannot_use_the_camera(
    recorded: RecordedPage, public_url: str
) -> None:
    recorded.page.goto(f"{public_url}{SERVICE_PATH}")

    allowed = recorded.page.evaluate(
        "() => document.featurePolicy"
        " ? document.featurePolicy.allowsFeature('camera') : null"
    )

    assert allowed is False


@pytest.mark.parametrize("path", ["/", "/?room=a&name=b", SERVICE_PATH])
def test_plain_http_redirects_to_the_https_origin(
    public_url: str, path: str
) -> None:
    answer = requests.get(
        f"{HTTP_URL}{path}", allow_redirects=False, timeout=10
    )

    assert answer.status_code == 301
    assert answer.headers["Location"] == f"{public_url}{path}"


def test_client_files_are_hashed_and_served_from_the_edge_cache(
    public_url: str, ca_cert: Path
) -> None:
    page = requests.get(f"{public_url}/", verify=ca_cert, timeout=10)
    script = HASHED_SCRIPT.search(page.text)
    assert script is not None, page.text

    answers = [
        requests.get(
            f"{public_url}{script.group(1)}", verify=ca_cert, timeout=10
        )
        for _ in range(2)
    ]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[1].headers["X-Cache-Status"] == "HIT"
    assert "immutable" in answers[1].headers["Cache-Control"]
    assert answers[0].content == answers[1].content


def test_trust_page_and_ca_certificate_are_served_over_http(
    ca_cert: Path,
) -> None:
    page = requests.get(f"{HTTP_URL}/trust/", timeout=10)
    certificate = requests.get(f"{HTTP_URL}/parley-ca.crt", timeout=10)

    assert page.status_code == 200
    assert "Firefox" in page.text
    assert "mobileconfig" in page.text
    assert certificate.text.strip() == ca_cert.read_text().strip()
