"""Forwarded headers, believed only when the edge sent them.

The edge (nginx) sets X-Forwarded-For and X-Forwarded-Proto on every
request it proxies. A client that reaches the app directly could send the
same headers to forge its address or scheme, so they are applied only to
requests whose peer is one of the trusted proxies, and removed from all
others.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
WSGIApp = Any

FORWARDED_KEYS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)


def _networks_of_name(name: str) -> list[Network]:
    try:
        infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        logger.warning(
            "trusted proxy not resolved, ignored name=%s error=%s",
            name, error,
        )
        return []
    return [
        ipaddress.ip_network(str(info[4][0]).split("%", 1)[0])
        for info in infos
    ]


def resolve_proxies(entries: Iterable[str]) -> tuple[Network, ...]:
    """Networks of the trusted proxies: addresses, networks or names.

    Names are resolved once, here; a name that does not resolve is
    logged and trusts nothing.
    """
    networks: list[Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            networks.extend(_networks_of_name(entry))
    return tuple(dict.fromkeys(networks))


class TrustedProxyFix:
    """ProxyFix for requests from the trusted proxies, none for others."""

    def __init__(self, app: WSGIApp, proxies: Iterable[Network]) -> None:
        self.proxies = tuple(proxies)
        self.plain = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1)

    def is_trusted(self, address: str) -> bool:
        try:
            peer = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        return any(peer in network for network in self.proxies)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.is_trusted(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)

        for key in FORWARDED_KEYS:
            environ.pop(key, None)
        return self.plain(environ, start_response)
