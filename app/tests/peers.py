"""A socket.io client that records what the server sends it."""

from __future__ import annotations

import queue
import time
from typing import Any

import socketio

from conftest import ORIGIN

EVENT_DEADLINE_S = 5.0
QUIET_S = 0.5


class Peer:
    """One python-socketio client on the WebSocket transport."""

    def __init__(self, url: str, origin: str = ORIGIN) -> None:
        self.client = socketio.Client(
            reconnection=False,
            websocket_extra_options={"origin": origin},
        )
        self.inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        for event in ("peer-joined", "peer-left", "signal"):
            self.client.on(event, self._keeper(event))
        self.client.connect(url, transports=["websocket"], wait_timeout=5)

    def _keeper(self, event: str) -> Any:
        def keep(data: Any) -> None:
            self.inbox.put((event, data))

        return keep

    @property
    def sid(self) -> str:
        sid: str = self.client.get_sid()
        return sid

    def call(self, event: str, data: Any = None, timeout: int = 10) -> Any:
        return self.client.call(event, data, timeout=timeout)

    def next(self, deadline: float = EVENT_DEADLINE_S) -> tuple[str, Any]:
        """The next event received, waiting at most `deadline` seconds."""
        return self.inbox.get(timeout=deadline)

    def quiet(self, seconds: float = QUIET_S) -> list[tuple[str, Any]]:
        """Whatever arrives within `seconds`; [] when nothing does."""
        time.sleep(seconds)
        received = []
        while not self.inbox.empty():
            received.append(self.inbox.get_nowait())
        return received

    def close(self) -> None:
        self.client.disconnect()
