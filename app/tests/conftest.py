"""Fixtures: real media, and a real gunicorn running the app."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from media import make_jpeg, make_live_webm

if TYPE_CHECKING:
    from peers import Peer

APP_DIR = Path(__file__).resolve().parents[1]
ORIGIN = "https://localhost:8443"
START_DEADLINE_S = 30.0
STOP_DEADLINE_S = 15.0
CHUNK_LIMIT = 256 * 1024
SCREENSHOT_LIMIT = 512 * 1024
MESSAGE_LIMIT = 16 * 1024

sys.path.insert(0, str(APP_DIR / "src"))


@dataclass(frozen=True)
class Server:
    """A running gunicorn with the app, and where it keeps its files."""

    url: str
    recordings: Path
    screenshots: Path
    log: Path


@pytest.fixture(scope="session")
def live_webm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Five seconds of VP8 in a cue-less WebM stream."""
    return make_live_webm(tmp_path_factory.mktemp("media") / "live.webm")


@pytest.fixture(scope="session")
def jpeg_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 64x48 JPEG."""
    return make_jpeg(tmp_path_factory.mktemp("media") / "frame.jpg")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            if requests.get(f"{url}/api/health", timeout=1).ok:
                return
        except requests.ConnectionError as error:
            # Not listening yet: try again until the deadline.
            last_error = error
        time.sleep(0.1)
    raise TimeoutError(
        f"gunicorn not healthy in {START_DEADLINE_S} s: {last_error}"
    )


def start_server(base: Path, extra_env: dict[str, str]) -> tuple[
    Server, subprocess.Popen[bytes]
]:
    """Start gunicorn with the GeventWebSocketWorker on a free port."""
    port = _free_port()
    server = Server(
        url=f"http://127.0.0.1:{port}",
        recordings=base / "recordings",
        screenshots=base / "screenshots",
        log=base / "gunicorn.log",
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(APP_DIR / "src"),
        "PARLEY_ALLOWED_ORIGINS": ORIGIN,
        "PARLEY_RECORDINGS_DIR": str(server.recordings),
        "PARLEY_SCREENSHOTS_DIR": str(server.screenshots),
        "PARLEY_ROOM_LIMIT": "2",
        "PARLEY_MAX_CHUNK_BYTES": str(CHUNK_LIMIT),
        "PARLEY_MAX_SCREENSHOT_BYTES": str(SCREENSHOT_LIMIT),
        "PARLEY_MAX_MESSAGE_BYTES": str(MESSAGE_LIMIT),
        **extra_env,
    }
    command = [
        sys.executable, "-m", "gunicorn",
        "-k", "geventwebsocket.gunicorn.workers.GeventWebSocketWorker",
        "-w", "1", "--bind", f"127.0.0.1:{port}",
        "--no-control-socket",
        "parley.wsgi:app",
    ]
    with open(server.log, "wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_healthy(server.url, process)
    except (RuntimeError, TimeoutError):
        stop_server(process)
        print(server.log.read_text())
        raise
    return server, process


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn, harder when it does not listen."""
    process.terminate()
    try:
        process.wait(timeout=STOP_DEADLINE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_DEADLINE_S)


@pytest.fixture(scope="session")
def web_bundle() -> dict[str, str]:
    """The client build the page names (app/web/build.mjs), made if absent.

    Returns its manifest: entry name -> content-hashed file name.
    """
    web = APP_DIR / "web"
    manifest = APP_DIR / "src/parley/static/dist/manifest.json"
    if not manifest.is_file():
        if not (web / "node_modules/.bin/esbuild").exists():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=web,
                check=True,
            )
        subprocess.run(["npm", "run", "--silent", "build"], cwd=web,
                       check=True)
    files: dict[str, str] = json.loads(manifest.read_text())
    return files


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The app under gunicorn, shared by the integration tests."""
    running, process = start_server(tmp_path_factory.mktemp("server"), {})
    yield running
    stop_server(process)


@pytest.fixture
def recorder(server: Server) -> Iterator[Peer]:
    """A client joined to a room of its own, ready to record."""
    # peers imports this module's constants: import it once both exist.
    from peers import Peer  # noqa: PLC0415 (peers imports conftest)

    peer = Peer(server.url)
    ack = peer.call(
        "join", {"room": f"rec-{uuid.uuid4().hex[:8]}", "name": "Rec"}
    )
    assert ack["ok"] is True
    yield peer
    peer.close()
