"""Assembly of the app: settings, stores, socket.io and Flask."""

from __future__ import annotations

import logging

import socketio  # type: ignore[import-untyped]

from .config import Settings
from .events import Events
from .http_api import create_flask_app
from .limits import PollingLimit, WebSocketLimit
from .proxy import TrustedProxyFix, resolve_proxies
from .recordings import RecordingStore
from .rooms import Rooms
from .screenshots import ScreenshotStore
from .storage import ensure_writable_directory

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> TrustedProxyFix:
    """The WSGI app: socket.io on /socket.io/, Flask for the rest."""
    ensure_writable_directory(settings.recordings_dir)
    ensure_writable_directory(settings.screenshots_dir)

    sio = socketio.Server(
        async_mode="gevent",
        cors_allowed_origins=list(settings.allowed_origins),
        max_http_buffer_size=settings.max_message_bytes,
        logger=False,
        engineio_logger=False,
    )

    # A chunk past a cap ends its recording: finalized in the background.
    recordings = RecordingStore(
        settings.recordings_dir,
        max_bytes=settings.max_recording_bytes,
        max_seconds=settings.max_recording_seconds,
        per_client=settings.max_recordings_per_client,
        spawn=sio.start_background_task,
    )
    recordings.check_tools()
    screenshots = ScreenshotStore(
        settings.screenshots_dir, settings.max_screenshot_bytes
    )

    events = Events(
        sio, Rooms(settings.room_limit), recordings,
        settings.recording_idle_seconds,
    )
    events.register()
    sio.start_background_task(events.sweep_recordings)

    flask_app = create_flask_app(settings, recordings, screenshots)
    proxies = resolve_proxies(settings.trusted_proxies)
    logger.info(
        "app ready room_limit=%d origins=%s recordings=%s screenshots=%s"
        " trusted_proxies=%s max_recording_bytes=%d"
        " max_recording_seconds=%d max_recordings_per_client=%d",
        settings.room_limit, ",".join(settings.allowed_origins),
        settings.recordings_dir, settings.screenshots_dir,
        ",".join(str(network) for network in proxies),
        settings.max_recording_bytes, settings.max_recording_seconds,
        settings.max_recordings_per_client,
    )
    wsgi = socketio.WSGIApp(sio, flask_app)
    limited = WebSocketLimit(
        PollingLimit(wsgi, settings.max_message_bytes),
        settings.max_message_bytes,
    )
    return TrustedProxyFix(limited, proxies)
