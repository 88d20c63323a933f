"""The livestream from browser to browser through the server: the host publishes the
camera from the opening's host view (Chromium's test-pattern camera) and a public page plays
it; when the host stops, the server says so to the next viewer. A page open before the
host is live asks for no video (no refused watch in the console) and plays once an encoder
publishes over WHIP; a page whose WebRTC watch is refused plays the HLS stream instead."""

from __future__ import annotations

from pathlib import Path

import httpx
from aiortc import RTCPeerConnection
from playwright.async_api import Browser, Page, expect

from tests.conftest import ADMIN
from tests.pages.conftest import DESKTOP
from tests.pages.test_console_pages import staff_context
from tests.pages.test_lot_pages import open_page
from tests.server.services.test_openings import new_opening
from tests.streaming.video.conftest import peers
from tests.streaming.video.test_whip import offer_sdp, publisher

__all__ = ["peers"]  # the fixture

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


async def watched_page(browser: Browser, url: str) -> tuple[Page, list[str], list[str]]:
    """A public page, with every console error and every request it makes recorded from
    before it loads."""
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")  # type: ignore[arg-type]
    page = await context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    await page.goto(url)
    return page, errors, requests


async def test_the_page_asks_for_no_video_before_the_host_is_live_then_plays(
    served: str, admin: httpx.AsyncClient, browser: Browser, peers: list[RTCPeerConnection]
) -> None:
    opening = await new_opening(admin)
    page, errors, requests = await watched_page(browser, f"{served}/openings/{opening}")
    await expect(page.locator("#videostatus")).to_have_text("直播尚未开始")
    async with page.expect_request(lambda r: r.url.endswith("/status")):
        pass  # the page has asked once whether the host is live, and waits on
    video = [url for url in requests if "/webrtc/" in url or url.endswith((".m3u8", ".m4s"))]
    assert video == []

    encoder = publisher("VP8")  # an encoder (OBS, say) goes live over WHIP
    peers.append(encoder)
    resource = await offer_sdp(admin, f"/api/openings/{opening}/whip", encoder)
    await page.wait_for_function(PLAYING, timeout=PUBLISH_MS)
    await expect(page.locator("#videostatus")).to_have_text("")
    assert (await admin.delete(resource)).status_code == 200
    await expect(page.locator("#videostatus")).to_have_text("直播尚未开始", timeout=PUBLISH_MS)
    assert errors == []  # no refused watch, nothing else


async def test_the_page_falls_back_to_hls_when_webrtc_is_refused(
    served: str, admin: httpx.AsyncClient, browser: Browser, peers: list[RTCPeerConnection]
) -> None:
    opening = await new_opening(admin)
    encoder = publisher("VP8")
    peers.append(encoder)
    await offer_sdp(admin, f"/api/openings/{opening}/whip", encoder)
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")  # type: ignore[arg-type]
    page = await context.new_page()
    refused = {"code": "CONFLICT", "message": "观看人数已满，请稍后再试"}
    await page.route("**/webrtc/watch", lambda route: route.fulfill(status=409, json=refused))
    segments: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: segments.append(r.url) if r.url.endswith(".m4s") else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(f"{served}/openings/{opening}")
    await page.wait_for_function(PLAYING, timeout=3 * PUBLISH_MS)  # the first segments
    assert segments and all(f"/live/openings/{opening}/" in url for url in segments)
    assert [e for e in errors if "409" not in e] == []  # hls.js within the CSP, no worker
