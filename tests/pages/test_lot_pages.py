"""The lot's pages in a real Chromium: a bidder bids by clicking and a public page sees it
within a second; a refused bid shows its message; the countdown follows the server's clock
whatever the PC's clock says; a room that cannot resume (a newer window, a wrong token) says
why."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from auction.checkpoint import Verifier
from auction.receipt import Receipt
from server.verify import verify_document
from tests.conftest import LOG_SIGNER
from tests.pages.conftest import DESKTOP, PHONE, assert_accessible
from tests.server.helpers import make_lot, qualified_bidder

SHIFT_MS = 7 * 60_000  # the PC's clock is seven minutes fast


def shown_money(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


async def open_page(browser: Browser, url: str, viewport: dict[str, int] = DESKTOP) -> Page:
    context = await browser.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(url)
    return page


def seconds(countdown: str) -> int:
    parts = [int(p) for p in countdown.split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


async def test_a_bidder_bids_by_clicking_and_the_public_sees_it_within_a_second(
    served: str, admin: httpx.AsyncClient, browser: Browser, screenshots: Path
) -> None:
    now = (await admin.get("/api/health")).json()["server_now"]
    lot = await make_lot(admin, opens_at=now, free_ends_at=now + 600_000)
    bidder = await qualified_bidder(admin, lot, "甲公司")
    public = await open_page(browser, f"{served}/lots/{lot}")
    room = await open_page(browser, f"{served}/lots/{lot}#token={bidder['token']}")
    await expect(room.locator("#plate")).to_have_text(bidder["plate"])
    await expect(room.locator("#qualified")).to_have_text("已取得竞买资格")
    start = 34_380_000  # Fixture L1's start price; the increment is 500,000 fen

    for price in (start, start + 500_000):
        await expect(room.locator("#amount")).to_have_value(f"{price / 100:.2f}")
        await room.click("#send")
        if price == start:
            await assert_accessible(room)  # with the confirmation asking
        await room.click("#yes")  # bids are irrevocable: the page asks first
        await expect(room.locator("#mine tr").first).to_contain_text("已接受")
        await expect(public.locator("#price")).to_contain_text(shown_money(price), timeout=1000)
        await expect(public.locator("#leader")).to_have_text(bidder["plate"], timeout=1000)

    async with room.expect_download() as saving:
        await room.locator("#mine tr").first.locator("button.receipt").click()
    saved = Path(await (await saving.value).path()).read_text()
    receipt = Receipt.parse(Verifier(LOG_SIGNER.vkey()).open(saved))
    assert (receipt.log, receipt.price) == (lot, start + 500_000)
    kept = await room.evaluate(f"JSON.parse(localStorage.getItem('openbid:receipts:{lot}'))")
    assert saved in kept and len(kept) == 2  # every acknowledged bid's, across reloads

    dots = public.locator("#chart path.dots")
    await expect(dots).to_have_attribute("d", re.compile(r"^(M[\d.]+ [\d.]+h0){2}$"))  # a bid each

    await room.fill("#amount", f"{(start + 1_250_000) / 100:.2f}")  # off the 5,000 元 grid
    await room.click("#send")
    await room.click("#yes")
    await expect(room.locator("#message")).to_have_text("报价须为增价幅度的整数倍")
    await expect(public.locator("#history tr")).to_have_count(2)
    await room.screenshot(path=screenshots / "lot-bidder-zh-desktop.png")
    await public.screenshot(path=screenshots / "lot-public-zh-desktop.png")


async def test_the_countdown_follows_the_server_not_the_pc_clock(
    served: str, admin: httpx.AsyncClient, browser: Browser, screenshots: Path
) -> None:
    now = (await admin.get("/api/health")).json()["server_now"]
    lot = await make_lot(admin, opens_at=now, free_ends_at=now + 600_000)
    context = await browser.new_context(viewport=PHONE, locale="en-US")  # type: ignore[arg-type]
    page = await context.new_page()
    await page.clock.install()
    await page.goto(f"{served}/lots/{lot}?lang=en")
    await expect(page.locator("#countdown")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await page.clock.set_system_time(now + SHIFT_MS)  # Date.now() jumps seven minutes ahead
    server_now = (await admin.get("/api/health")).json()["server_now"]
    await expect(page.locator("#phase")).to_have_text("Free bidding")
    shown = seconds(await page.locator("#countdown").inner_text())
    assert abs(shown - (now + 600_000 - server_now) / 1000) < 3
    await page.screenshot(path=screenshots / "lot-public-en-phone.png")


async def test_a_bidder_without_the_link_enters_the_room_with_the_token(
    served: str, admin: httpx.AsyncClient, browser: Browser
) -> None:
    lot = await make_lot(admin)
    bidder = await qualified_bidder(admin, lot, "丙公司")
    page = await open_page(browser, f"{served}/lots/{lot}?lang=en")
    await expect(page.locator("#bidform")).to_be_hidden()
    await page.get_by_label("Bidder token").fill(bidder["token"])
    await page.get_by_role("button", name="Enter my room").click()
    await expect(page.locator("#plate")).to_have_text(bidder["plate"])
    await expect(page.locator("#tokenform")).to_be_hidden()
    assert bidder["token"] not in page.url.split("#")[0]  # never in what reaches the server


async def test_a_room_that_cannot_resume_says_why_and_stays_closed(
    served: str, admin: httpx.AsyncClient, browser: Browser
) -> None:
    lot = await make_lot(admin)
    bidder = await qualified_bidder(admin, lot, "丁公司")
    first = await open_page(browser, f"{served}/lots/{lot}#token={bidder['token']}")
    await expect(first.locator("#connection")).to_have_text("已连接")
    second = await open_page(browser, f"{served}/lots/{lot}#token={bidder['token']}")
    await expect(second.locator("#plate")).to_have_text(bidder["plate"])
    await expect(first.locator("#message")).to_have_text("您已在另一窗口进入，本窗口已断开")
    await expect(first.locator("#connection")).to_have_text("连接已断开")  # not "reconnecting"
    await expect(second.locator("#connection")).to_have_text("已连接")

    stranger = await open_page(browser, f"{served}/lots/{lot}#token=not-a-token")
    await expect(stranger.locator("#message")).to_have_text("身份验证失败，请使用正确的链接或令牌")
    await expect(stranger.locator("#connection")).to_have_text("连接已断开")


async def test_a_browser_made_key_signs_the_bids_of_a_signed_lot(
    served: str, admin: httpx.AsyncClient, browser: Browser, screenshots: Path
) -> None:
    """The key is made by the browser and kept there (non-extractable); the centre registers
    its public half; the page signs each bid; a browser without it cannot bid."""
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")  # type: ignore[arg-type]
    keys = await context.new_page()
    await keys.goto(f"{served}/keys")
    await keys.click("#make")
    await expect(keys.locator("#pem")).to_have_value(re.compile("^-----BEGIN PUBLIC KEY-----"))
    pem = await keys.locator("#pem").input_value()
    await assert_accessible(keys)
    extractable = await keys.evaluate(
        "async () => (await (await import('/static/keys.js')).bidderKey()).privateKey.extractable"
    )
    assert extractable is False

    now = (await admin.get("/api/health")).json()["server_now"]
    lot = await make_lot(admin, opens_at=now, free_ends_at=now + 600_000, signatures="required")
    made = (
        await admin.post(f"/api/lots/{lot}/bidders", json={"name": "甲", "public_key": pem})
    ).json()
    await admin.post(f"/api/lots/{lot}/bidders/{made['bidder_id']}/deposit",
                     json={"amount": 10_000_000, "kind": "cash", "ref": "sig-1"})  # fmt: skip
    room = await context.new_page()
    await room.goto(f"{served}/lots/{lot}#token={made['token']}")
    await expect(room.locator("#plate")).to_have_text(made["plate"])
    await room.click("#send")
    await room.click("#yes")
    await expect(room.locator("#mine tr").first).to_contain_text("已接受")
    document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert document["entries"][-1]["entry"]["sig"]
    assert ", 1 signatures," in verify_document(document)

    stranger = await open_page(browser, f"{served}/lots/{lot}#token={made['token']}")
    await expect(stranger.locator("#plate")).to_have_text(made["plate"])
    await stranger.click("#send")
    await stranger.click("#yes")
    await expect(stranger.locator("#message")).to_contain_text("须签名")
    await room.screenshot(path=screenshots / "lot-signed-bidder-zh-desktop.png")
