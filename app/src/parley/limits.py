"""Refuse oversized Engine.IO long-polling POSTs before Engine.IO sees them.

python-engineio refuses a polling POST above `max_http_buffer_size` by
closing the session while the sender is still blocked in that POST, and
the close waits for a poll that never comes: the sender hangs and the
connection stays open. This middleware answers such a POST at once,
from its Content-Length, with 413 and a readable body; a POST without a
Content-Length (chunked) gets 411. The body is never read into memory.
The sending client sees its POST fail and reconnects, as it does after
any transport error; the abandoned session ends at its ping timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

SOCKET_PATH = "/socket.io/"
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class PollingLimit:
    """WSGI middleware: cap the body of POSTs under `path`."""

    def __init__(
        self, app: WsgiApp, max_bytes: int, path: str = SOCKET_PATH
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path = path

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and str(
            environ.get("PATH_INFO", "")
        ).startswith(self.path):
            refusal = self._refusal(environ)
            if refusal is not None:
                status, text = refusal
                logger.warning(
                    "polling POST refused address=%s status=%s length=%s",
                    environ.get("REMOTE_ADDR"), status,
                    environ.get("CONTENT_LENGTH"),
                )
                body = text.encode("utf-8")
                start_response(
                    status,
                    [
                        ("Content-Type", "text/plain; charset=utf-8"),
                        ("Content-Length", str(len(body))),
                        ("Connection", "close"),
                    ],
                )
                return [body]
        return self.app(environ, start_response)

    def _refusal(self, environ: dict[str, Any]) -> tuple[str, str] | None:
        raw = str(environ.get("CONTENT_LENGTH") or "").strip()
        if not raw.isdigit():
            return (
                "411 Length Required",
                "length_required: a polling POST needs a Content-Length\n",
            )
        if int(raw) > self.max_bytes:
            return (
                "413 Request Entity Too Large",
                f"too_large: a socket.io message is limited to "
                f"{self.max_bytes} bytes\n",
            )
        return None
