"""Refuse oversized socket.io messages before they are read into memory.

Long polling: PollingLimit. WebSocket: WebSocketLimit, below.


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

import contextlib
import logging
import struct
from collections.abc import Callable, Iterable
from typing import Any

from geventwebsocket.exceptions import (  # type: ignore[import-untyped]
    WebSocketError,
)
from geventwebsocket.websocket import (  # type: ignore[import-untyped]
    WebSocket,
)

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


# RFC 6455, 7.4.1: the message is too big to process.
CLOSE_TOO_BIG = 1009


class MessageTooBigError(Exception):
    """A WebSocket message announced more bytes than the limit."""


class MessageBudget:
    """Stands in for a WebSocket's raw_read, counting each message's bytes.

    gevent-websocket reads each frame whole, whatever its header says, and
    python-engineio compares the message with its limit only after that:
    a sender could make the worker buffer and unmask any number of bytes,
    and every other session of the (single) worker waited meanwhile.
    read_frame calls raw_read once per frame with the payload length from
    the frame's header, before a byte of the payload is read: here those
    lengths are added up per message (fragments count together), and past
    the limit the socket gets a close frame with 1009 and the connection
    ends without reading the rest.
    """

    __slots__ = ("max_bytes", "read", "used", "websocket")

    def __init__(
        self, websocket: Any, read: Callable[[int], bytes], max_bytes: int
    ) -> None:
        self.websocket = websocket
        self.read = read
        self.max_bytes = max_bytes
        self.used = 0

    def __call__(self, size: int) -> bytes:
        self.used += size
        if self.used > self.max_bytes:
            self._refuse()
            # read_frame turns any error here into "unexpected EOF", and
            # receive() then reports the socket closed to Engine.IO.
            raise MessageTooBigError(self.used)
        return self.read(size)

    def _refuse(self) -> None:
        websocket = self.websocket
        logger.warning(
            "websocket message refused address=%s bytes=%d limit=%d",
            websocket.environ.get("REMOTE_ADDR"), self.used, self.max_bytes,
        )

        # WebSocket.close() would send its text alone, with no status
        # code, so the close frame is sent here; marked closed, the socket
        # then sends no second one when receive() closes it.
        payload = struct.pack("!H", CLOSE_TOO_BIG) + b"message too big"
        with contextlib.suppress(WebSocketError):
            websocket.send_frame(payload, websocket.OPCODE_CLOSE)
        websocket.closed = True


class CappedWebSocket(WebSocket):  # type: ignore[misc]
    """gevent-websocket's WebSocket whose raw_read is a MessageBudget.

    WebSocket has __slots__, so a subclass that an existing object can
    become adds none: the budget lives in the raw_read slot, where
    WebSocket.close() can still clear it, and this class only starts a
    new count with each message.
    """

    __slots__ = ()

    def read_message(self) -> Any:
        budget = self.raw_read
        if isinstance(budget, MessageBudget):
            budget.used = 0
        return super().read_message()


class WebSocketLimit:
    """WSGI middleware: cap each message of an upgraded WebSocket.

    The worker (GeventWebSocketWorker) has made `wsgi.websocket` by the
    time the app is called; it becomes a CappedWebSocket here, before
    Engine.IO reads from it.
    """

    def __init__(self, app: WsgiApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        websocket = environ.get("wsgi.websocket")
        if websocket is not None and type(websocket) is WebSocket:
            websocket.__class__ = CappedWebSocket
            websocket.raw_read = MessageBudget(
                websocket, websocket.raw_read, self.max_bytes
            )
        return self.app(environ, start_response)
