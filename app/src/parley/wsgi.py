"""WSGI entry point for gunicorn: `parley.wsgi:app`."""

from __future__ import annotations

import logging
import sys

from .config import SettingsError, load_settings
from .server import create_app

if not logging.getLogger().handlers:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

try:
    settings = load_settings()
except SettingsError as error:
    logging.getLogger(__name__).critical("settings refused error=%s", error)
    raise SystemExit(f"parley: {error}") from error

app = create_app(settings)
