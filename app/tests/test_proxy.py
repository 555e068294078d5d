"""Forwarded headers count only when the trusted edge sent them."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from parley.config import SettingsError, load_settings
from parley.proxy import TrustedProxyFix, resolve_proxies

EDGE = "10.1.2.3"
BASE_ENV = {
    "PARLEY_ALLOWED_ORIGINS": "https://localhost:8443",
    "PARLEY_RECORDINGS_DIR": "/srv/recordings",
    "PARLEY_SCREENSHOTS_DIR": "/srv/screenshots",
}


def seen_by_app(peer: str, headers: dict[str, str]) -> dict[str, Any]:
    """What the wrapped app sees of a request from `peer`."""
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("200 OK", [])
        return [b""]

    proxies = resolve_proxies([f"{EDGE}/32"])
    environ = {
        "REMOTE_ADDR": peer,
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "localhost:8443",
        **{
            "HTTP_" + name.upper().replace("-", "_"): value
            for name, value in headers.items()
        },
    }
    TrustedProxyFix(app, proxies)(environ, lambda *args: None)
    return seen


FORWARDED = {"X-Forwarded-For": "192.0.2.7", "X-Forwarded-Proto": "https"}


def test_the_edge_forwarded_address_and_scheme_are_applied() -> None:
    seen = seen_by_app(EDGE, FORWARDED)

    assert seen["REMOTE_ADDR"] == "192.0.2.7"
    assert seen["wsgi.url_scheme"] == "https"


def test_forwarded_headers_of_any_other_peer_are_dropped() -> None:
    seen = seen_by_app("10.9.9.9", FORWARDED)

    assert seen["REMOTE_ADDR"] == "10.9.9.9"
    assert seen["wsgi.url_scheme"] == "http"
    assert "HTTP_X_FORWARDED_FOR" not in seen
    assert "HTTP_X_FORWARDED_PROTO" not in seen


def test_proxies_are_addresses_networks_or_names() -> None:
    networks = resolve_proxies(
        ["192.0.2.1", "10.0.0.0/8", "localhost", "no-such-host.invalid"]
    )

    assert ipaddress.ip_network("192.0.2.1/32") in networks
    assert ipaddress.ip_network("10.0.0.0/8") in networks
    assert ipaddress.ip_network("127.0.0.1/32") in networks
    assert len(networks) >= 3


@pytest.mark.parametrize("proxies", ["*", "0.0.0.0/0", "10.0.0.1,::/0"])
def test_trusting_everyone_is_refused(proxies: str) -> None:
    with pytest.raises(SettingsError, match="PARLEY_TRUSTED_PROXIES"):
        load_settings({**BASE_ENV, "PARLEY_TRUSTED_PROXIES": proxies})


def test_trusted_proxies_are_read_from_the_environment() -> None:
    settings = load_settings(
        {**BASE_ENV, "PARLEY_TRUSTED_PROXIES": "web1.parley.lab, 10.0.0.5"}
    )

    assert settings.trusted_proxies == ("web1.parley.lab", "10.0.0.5")
