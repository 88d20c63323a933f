"""An emission-rights lot's room in a real Chromium: the bidder names a quantity with its
unit price, the public sees the standing bids ranked as the close would share them, and
after the close the outcome lists each winner's share with its own 成交确认书."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.pages.test_lot_pages import open_page, shown_money
from tests.server.helpers import bearer, lot_in_limited
from tests.server.test_emission import EMISSION, START, STEP


async def test_a_bidder_asks_a_quantity_and_the_outcome_shares_it(
    served: str, admin: httpx.AsyncClient, browser: Browser, screenshots: Path
) -> None:
    # 15 s after each bid: time for a page to open and bid on a loaded machine
    lot, (a, b) = await lot_in_limited(admin, "甲公司", "乙公司", **EMISSION | {"countdown_s": 15})
    public = await open_page(browser, f"{served}/lots/{lot}")
    room = await open_page(browser, f"{served}/lots/{lot}#token={a['token']}")
    await expect(room.locator("#quantitylabel")).to_be_visible()
    await expect(room.locator("#terms")).to_contain_text("交易总量100 吨")

    await room.fill("#quantity", "60")
    await room.click("#send")
    await expect(room.locator("#confirmtext")).to_contain_text("申购 60 吨")
    await room.click("#yes")
    await expect(room.locator("#mine tr").first).to_contain_text("已接受")
    ask = {"bid_id": "b1", "price": START + STEP, "quantity": 50}
    answer = await admin.post(f"/api/lots/{lot}/bids", headers=bearer(b["token"]), json=ask)
    assert answer.status_code == 200, answer.text

    ranked = public.locator("#standings tr")
    await expect(ranked).to_have_count(2)
    await expect(ranked.nth(0)).to_contain_text(
        f"{b['plate']}{shown_money(START + STEP)}50 吨50 吨"
    )
    await expect(ranked.nth(1)).to_contain_text(f"{a['plate']}{shown_money(START)}60 吨50 吨")
    await expect(room.locator("#amount")).to_have_value(
        f"{(START + STEP) / 100:.2f}"
    )  # its own next

    outcome = public.locator("#outcome")
    await expect(outcome).to_contain_text("成交", timeout=30_000)
    links = outcome.locator("a")
    await expect(links).to_have_count(2)
    for i, plate in enumerate((b["plate"], a["plate"])):
        href = await links.nth(i).get_attribute("href")
        assert href == f"/api/lots/{lot}/confirmation.pdf?plate={plate}"
        pdf = await admin.get(href)
        assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    await expect(outcome).to_contain_text(
        f"× 50 吨，成交金额 {shown_money((START + STEP) * 50)} 元"
    )
    await public.screenshot(path=screenshots / "lot-emission-public-zh.png")
