"""HTTP side of the app: the page, health, chunk and screenshot uploads."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from .config import Settings
from .recordings import RecordingError, RecordingStore
from .screenshots import ScreenshotError, ScreenshotStore

logger = logging.getLogger(__name__)

READ_BLOCK_BYTES = 64 * 1024
# Written by the web build (app/web/build.mjs): entry name -> hashed name.
ASSET_MANIFEST = Path(__file__).parent / "static" / "dist" / "manifest.json"
SERVER_ERROR = 500

api = Blueprint("api", __name__)


class ApiError(Exception):
    """An HTTP error with a stable code, answered as JSON."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _settings() -> Settings:
    settings: Settings = current_app.config["PARLEY_SETTINGS"]
    return settings


def _error(code: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": code, "message": message}), status


def _check_origin() -> None:
    origin = request.headers.get("Origin")
    if origin is not None and origin not in _settings().allowed_origins:
        logger.warning(
            "upload refused, foreign origin origin=%s path=%s",
            origin, request.path,
        )
        raise ApiError("origin_not_allowed", "origin not allowed", 403)


def read_body(limit: int) -> bytes:
    """The request body, or ApiError 413 once it passes `limit` bytes."""
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError(
            "too_large", f"the body is limited to {limit} bytes", 413
        )

    parts: list[bytes] = []
    size = 0
    while True:
        try:
            block = request.stream.read(READ_BLOCK_BYTES)
        except OSError as error:
            # The client went away before the length it announced, or
            # sent a broken chunked body (gevent raises OSError for both).
            raise ApiError(
                "incomplete", f"the request body ended early: {error}", 400
            ) from error
        if not block:
            break
        size += len(block)
        if size > limit:
            raise ApiError(
                "too_large", f"the body is limited to {limit} bytes", 413
            )
        parts.append(block)
    return b"".join(parts)


def load_asset_manifest(path: Path = ASSET_MANIFEST) -> dict[str, str]:
    """Content-hashed names of the client files, by entry name."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ApiError(
            "not_built",
            f"the web client is not built ({path}): run app/build.sh",
            500,
        ) from error
    return {str(name): str(file) for name, file in manifest.items()}


def asset_url(name: str) -> str:
    """URL of a client file under its content-hashed name."""
    files: dict[str, str] = current_app.config["PARLEY_ASSETS"]
    return url_for("static", filename=f"dist/{files[name]}")


@api.get("/")
def index() -> str:
    """The call page, naming the client files of this build."""
    if current_app.config.get("PARLEY_ASSETS") is None:
        current_app.config["PARLEY_ASSETS"] = load_asset_manifest()
    return render_template(
        "index.html",
        asset_url=asset_url,
        max_message_bytes=_settings().max_message_bytes,
    )


@api.get("/api/health")
def health() -> Response:
    """Liveness for the edge and the deployment checks."""
    return jsonify({"status": "ok"})


@api.put("/api/recordings/<rec_id>/chunks/<int:seq>")
def put_chunk(rec_id: str, seq: int) -> Response:
    """Store one recording chunk; the answer is its acknowledgement."""
    _check_origin()
    scheme, _, token = request.headers.get("Authorization", "").partition(
        " "
    )
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            "unauthorized", "send Authorization: Bearer <token>", 401
        )

    store: RecordingStore = current_app.config["PARLEY_RECORDINGS"]
    # A recording a cap ended is found too: its refusal says why.
    store.authorize(rec_id, token, finished=True)
    body = read_body(_settings().max_chunk_bytes)
    ack = store.put_chunk(rec_id, token, seq, body)
    return jsonify(
        {
            "id": ack.id,
            "seq": ack.seq,
            "bytes": ack.bytes,
            "duplicate": ack.duplicate,
        }
    )


@api.post("/api/screenshots")
def post_screenshot() -> tuple[Response, int]:
    """Store one screenshot sent as PNG or JPEG bytes."""
    _check_origin()
    # One limit for the whole request body, the same number as the edge's
    # (parley_limits.screenshot_bytes): a base64 data URL therefore
    # carries an image of about three quarters of it.
    body = read_body(_settings().max_screenshot_bytes)
    store: ScreenshotStore = current_app.config["PARLEY_SCREENSHOTS"]
    return jsonify(store.save(body)), 201


def _on_api_error(
    error: ApiError | RecordingError | ScreenshotError,
) -> tuple[Response, int]:
    if error.status < SERVER_ERROR:
        logger.warning(
            "request refused path=%s error=%s message=%s",
            request.path, error.code, error.message,
        )
    return _error(error.code, error.message, error.status)


def _on_http_error(error: HTTPException) -> Any:
    if not request.path.startswith("/api/"):
        return error
    status = error.code or 500
    code = (error.name or "error").lower().replace(" ", "_")
    return _error(code, error.description or code, status)


def _on_fault(error: Exception) -> tuple[Response, int]:
    logger.exception("request failed path=%s", request.path)
    return _error("internal", "the server failed; see its log", 500)


def create_flask_app(
    settings: Settings,
    recordings: RecordingStore,
    screenshots: ScreenshotStore,
) -> Flask:
    """The Flask app serving the page and the HTTP API."""
    app = Flask(__name__)
    app.config["PARLEY_SETTINGS"] = settings
    app.config["PARLEY_RECORDINGS"] = recordings
    app.config["PARLEY_SCREENSHOTS"] = screenshots
    app.register_blueprint(api)
    app.register_error_handler(ApiError, _on_api_error)
    app.register_error_handler(RecordingError, _on_api_error)
    app.register_error_handler(ScreenshotError, _on_api_error)
    app.register_error_handler(HTTPException, _on_http_error)
    app.register_error_handler(Exception, _on_fault)
    return app
