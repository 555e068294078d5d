"""Two callers in one room: what the browser tests share."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page

MEDIA_TIMEOUT_MS = 30_000

# Each caller's fake camera is asked for its own size, so that each page
# can tell the other's video from its own.
CAMERA_SIZES = {"alice": (640, 480), "bob": (320, 240)}


@dataclass(frozen=True)
class Caller:
    name: str
    width: int
    height: int
    page: Page


@contextmanager
def open_call(
    browser: Browser, public_url: str, room: str
) -> Iterator[list[Caller]]:
    """One page per caller in the room, Join pressed on each."""
    contexts = []
    callers = []

    try:
        for name, (width, height) in CAMERA_SIZES.items():
            context = browser.new_context()
            contexts.append(context)
            page = context.new_page()
            query = urlencode(
                {"room": room, "name": name, "width": width, "height": height}
            )
            page.goto(f"{public_url}/?{query}")
            page.click("#join")
            callers.append(Caller(name, width, height, page))

        yield callers
    finally:
        for context in contexts:
            context.close()


@contextmanager
def one_more_caller(
    browser: Browser, public_url: str, room: str, name: str
) -> Iterator[Page]:
    """A page of its own for `name`, Join pressed in `room`."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{public_url}/?{urlencode({'room': room, 'name': name})}")
        page.click("#join")
        yield page
    finally:
        context.close()


@contextmanager
def two_callers(
    browser: Browser, public_url: str, room_prefix: str
) -> Iterator[tuple[str, Caller, Caller]]:
    """Two callers in a fresh room, each showing the other's video."""
    room = f"{room_prefix}-{uuid.uuid4().hex[:8]}"
    with open_call(browser, public_url, room) as (alice, bob):
        wait_for_remote_size(alice, bob)
        wait_for_remote_size(bob, alice)
        yield room, alice, bob


def wait_for_remote_size(caller: Caller, other: Caller) -> None:
    """Wait until the caller's remote video has the other camera's size."""
    caller.page.wait_for_function(
        """([w, h]) => {
          const v = document.querySelector('#remote-video');
          return v.videoWidth === w && v.videoHeight === h;
        }""",
        arg=[other.width, other.height],
        timeout=MEDIA_TIMEOUT_MS,
    )


def frames_decoded(page: Page) -> int:
    """Video frames decoded so far on the page's peer connection."""
    return int(
        page.evaluate(
            """async () => {
              const pc = window.parley.peerConnection();
              if (pc === null) return 0;
              const report = await pc.getStats();
              let frames = 0;
              report.forEach((s) => {
                if (s.type === 'inbound-rtp' && s.kind === 'video') {
                  frames += s.framesDecoded || 0;
                }
              });
              return frames;
            }"""
        )
    )


def wait_for_more_frames(page: Page, than: int) -> int:
    """Wait until more than `than` frames are decoded; return the count."""
    deadline = time.monotonic() + MEDIA_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        frames = frames_decoded(page)
        if frames > than:
            return frames
        page.wait_for_timeout(250)
    pytest.fail(f"no frames decoded beyond {than} before the deadline")
