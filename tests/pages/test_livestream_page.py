"""The livestream from browser to browser through the server: the host publishes the
camera from the opening's host view (Chromium's test-pattern camera) and a public page plays
it; when the host stops, the server says so to the next viewer."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.conftest import ADMIN
from tests.pages.test_console_pages import staff_context
from tests.pages.test_lot_pages import open_page

PUBLISH_MS = 15_000  # the camera, then ICE gathering on both sides (up to 3 s each) on a busy CI
PLAYING = "() => { const v = document.getElementById('video'); return v.readyState >= 2 && v.videoWidth > 0; }"  # noqa: E501


async def test_the_host_publishes_the_camera_and_the_public_page_plays_it(
    served: str, admin: httpx.AsyncClient, browser: Browser, screenshots: Path
) -> None:
    now = (await admin.get("/api/health")).json()["server_now"]
    config = {"title": "直播测试标段", "bid_deadline": now + 3_600_000, "decrypt_window_s": 600}
    opening = (await admin.post("/api/openings", json=config)).json()["opening_id"]
    host_context = await staff_context(browser, ADMIN)
    host = await host_context.new_page()
    await host.goto(f"{served}/openings/{opening}?staff=1")
    await host.click("#publish")
    await expect(host.locator("#stopcamera")).to_be_visible(timeout=PUBLISH_MS)

    viewer = await open_page(browser, f"{served}/openings/{opening}")
    await viewer.wait_for_function(PLAYING)
    await expect(viewer.locator("#videostatus")).to_have_text("")
    await viewer.screenshot(path=screenshots / "opening-video-zh-desktop.png")

    await host.click("#stopcamera")
    await expect(host.locator("#publish")).to_be_visible()
    late = await open_page(browser, f"{served}/openings/{opening}")
    await expect(late.locator("#videostatus")).to_have_text("直播尚未开始")
