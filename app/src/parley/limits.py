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
from typing import Any, ClassVar

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


class CappedWebSocket(WebSocket):  # type: ignore[misc]
    """gevent-websocket's WebSocket that refuses a message from its header.

    gevent-websocket reads each frame whole, whatever its header says, and
    python-engineio compares the message with its limit only after that:
    a sender could make the worker buffer and unmask any number of bytes,
    and every other session of the (single) worker waited meanwhile. Here
    each frame's payload length is added up per message before a byte of
    it is read; past the limit the socket gets a close frame with 1009
    and the connection ends without reading the rest.

    WebSocket has __slots__, so a subclass that an existing object can
    become has no room of its own: the limit is a class attribute (one
    subclass per limit, see capped_websocket_class) and the running count
    of each message lives in _message_bytes, keyed by the socket's id
    while read_message runs.
    """

    __slots__ = ()
    max_message_bytes: ClassVar[int] = 0

    def read_message(self) -> Any:
        _message_bytes[id(self)] = 0
        try:
            return super().read_message()
        finally:
            _message_bytes.pop(id(self), None)

    def raw_read(self, size: int) -> bytes:
        read_so_far = _message_bytes.get(id(self), 0) + size
        _message_bytes[id(self)] = read_so_far
        if read_so_far > self.max_message_bytes:
            logger.warning(
                "websocket message refused address=%s bytes=%d limit=%d",
                self.environ.get("REMOTE_ADDR"), read_so_far,
                self.max_message_bytes,
            )
            # close() would send its text alone, with no status code.
            payload = struct.pack("!H", CLOSE_TOO_BIG) + b"message too big"
            with contextlib.suppress(WebSocketError):
                self.send_frame(payload, self.OPCODE_CLOSE)
            # read_frame turns any error here into "unexpected EOF", and
            # receive() then reports the socket closed to Engine.IO.
            raise MessageTooBigError(read_so_far)
        data: bytes = super().raw_read(size)
        return data


# Bytes of the message each CappedWebSocket is reading, by id(socket).
_message_bytes: dict[int, int] = {}


def capped_websocket_class(max_bytes: int) -> type[CappedWebSocket]:
    """A CappedWebSocket subclass whose messages stop at `max_bytes`."""
    return type(
        "CappedWebSocket",
        (CappedWebSocket,),
        {"__slots__": (), "max_message_bytes": max_bytes},
    )


class WebSocketLimit:
    """WSGI middleware: cap each message of an upgraded WebSocket.

    The worker (GeventWebSocketWorker) has made `wsgi.websocket` by the
    time the app is called; it becomes a CappedWebSocket here, before
    Engine.IO reads from it.
    """

    def __init__(self, app: WsgiApp, max_bytes: int) -> None:
        self.app = app
        self.socket_class = capped_websocket_class(max_bytes)

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        websocket = environ.get("wsgi.websocket")
        if websocket is not None and type(websocket) is WebSocket:
            websocket.__class__ = self.socket_class
        return self.app(environ, start_response)
