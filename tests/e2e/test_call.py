"""A real two-party call through the deployed lab, in Debian's Chromium.

Two pages join one room at the public https URL, each with a fake camera
at its own resolution. Each must show the other's video at the other's
resolution, decode frames that keep coming, record five seconds into a
WebM file on the app host, and store a screenshot of the remote video.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator

import pytest
from calls import (
    Caller,
    frames_decoded,
    one_more_caller,
    open_call,
    two_callers,
    wait_for_more_frames,
    wait_for_remote_size,
)
from conftest import app_host_file, app_host_run
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

RECORDINGS_DIR = "/var/lib/parley/recordings"
SCREENSHOTS_DIR = "/var/lib/parley/screenshots"

SAVE_TIMEOUT_MS = 60_000
RECORD_SECONDS = 5
MIN_DURATION_S = 4
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SAVED = re.compile(r"^saved \S+$")


@pytest.fixture()
def call(browser: Browser, public_url: str) -> Iterator[tuple[Caller, Caller]]:
    """Two callers in one fresh room, each with its own camera size."""
    with two_callers(browser, public_url, "e2e") as (_room, alice, bob):
        yield alice, bob


def remote_video_size(page: Page) -> tuple[int, int]:
    size = page.eval_on_selector(
        "#remote-video", "v => [v.videoWidth, v.videoHeight]"
    )
    return int(size[0]), int(size[1])


def saved_name(page: Page, selector: str) -> str:
    state = page.locator(selector)
    expect(state).to_have_text(SAVED, timeout=SAVE_TIMEOUT_MS)
    return state.inner_text().split(" ", 1)[1]


def test_each_page_shows_the_other_camera_at_its_resolution(
    call: tuple[Caller, Caller],
) -> None:
    alice, bob = call

    wait_for_remote_size(alice, bob)
    wait_for_remote_size(bob, alice)

    assert remote_video_size(alice.page) == (bob.width, bob.height)
    assert remote_video_size(bob.page) == (alice.width, alice.height)


def test_inbound_frames_are_decoded_and_keep_increasing(
    call: tuple[Caller, Caller],
) -> None:
    for caller in call:
        first = wait_for_more_frames(caller.page, 0)
        second = wait_for_more_frames(caller.page, first)

        assert second > first > 0


def test_a_five_second_recording_arrives_as_webm_on_the_app_host(
    call: tuple[Caller, Caller],
) -> None:
    alice, bob = call
    wait_for_remote_size(alice, bob)

    alice.page.click("#record")
    expect(alice.page.locator("#record-state")).to_have_text("recording")
    alice.page.wait_for_timeout(RECORD_SECONDS * 1000)
    alice.page.click("#record")
    name = saved_name(alice.page, "#record-state")

    probe = json.loads(
        app_host_run(
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            f"{RECORDINGS_DIR}/{name}",
        )
    )
    video = [s for s in probe["streams"] if s["codec_type"] == "video"]

    assert probe["format"]["format_name"].startswith("matroska,webm")
    assert video, "the recording has no video stream"
    assert float(probe["format"]["duration"]) >= MIN_DURATION_S

    sidecar_name = name.rsplit(".", 1)[0] + ".json"
    sidecar = json.loads(app_host_file(f"{RECORDINGS_DIR}/{sidecar_name}"))
    assert sidecar["chunks"] >= MIN_DURATION_S
    assert sidecar["bytes"] > 0


def test_a_screenshot_of_the_remote_video_is_a_png_of_its_size(
    call: tuple[Caller, Caller],
) -> None:
    alice, bob = call
    wait_for_remote_size(alice, bob)

    alice.page.click("#screenshot")
    name = saved_name(alice.page, "#screenshot-state")
    data = app_host_file(f"{SCREENSHOTS_DIR}/{name}")

    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (bob.width, bob.height)


# Before the member already in the room waited for the newcomer's offer,
# about one call in ten here never connected (see call.js); twenty in a
# row then all connected about one time in eight.
CALLS_IN_A_ROW = 20


def test_call_after_call_every_one_connects(
    browser: Browser, public_url: str
) -> None:
    never_connected = []
    for number in range(CALLS_IN_A_ROW):
        with open_call(browser, public_url, f"e2e-row{number}") as callers:
            alice, bob = callers
            try:
                wait_for_remote_size(alice, bob)
                wait_for_remote_size(bob, alice)
            except PlaywrightTimeoutError:
                never_connected.append(number)
    assert never_connected == [], (
        f"{len(never_connected)} of {CALLS_IN_A_ROW} calls never connected"
    )


# Below the page's grace for a dropped member (REJOIN_GRACE_MS, 15 s):
# a member who pressed Leave must not be waited for.
LEFT_SEEN_MS = 10_000


def test_a_member_who_leaves_ends_the_call_for_the_other_at_once(
    browser: Browser, public_url: str
) -> None:
    with two_callers(browser, public_url, "e2e-leave") as (_room, alice, bob):
        bob.page.click("#leave")

        expect(alice.page.locator("#status")).to_have_text(
            "the other member left", timeout=LEFT_SEEN_MS
        )
        assert alice.page.evaluate(
            "() => document.querySelector('#remote-video').srcObject"
            " === null"
        )
        assert alice.page.evaluate("() => window.parley.peerConnection()"
                                   " === null")


def test_a_third_caller_is_refused_and_its_camera_goes_off(
    browser: Browser, public_url: str
) -> None:
    with (
        two_callers(browser, public_url, "e2e-full") as (room, alice, _),
        one_more_caller(browser, public_url, room, "carol") as page,
    ):
        expect(page.locator("#status")).to_have_text(
            re.compile(r"^error: join: room_full")
        )
        assert page.evaluate(
            "() => document.querySelector('#local-video').srcObject"
            " === null"
        )
        expect(page.locator("#join")).to_be_enabled()
        # The pair's call goes on.
        wait_for_more_frames(alice.page, frames_decoded(alice.page))
