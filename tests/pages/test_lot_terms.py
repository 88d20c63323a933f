"""The lot page states the terms a bidder needs before bidding, and after the close the
outcome as the rules publish it, with no bid control left (issue 15, deliverable 5: a closed
流拍 lot once showed an enabled 出价 button with a next price, and 流拍 in green)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.pages.conftest import assert_accessible
from tests.pages.test_lot_pages import open_page, shown_money
from tests.server.helpers import bearer, lot_in_limited

PARTICULARS = {"宗地面积": "12,345.6 ㎡", "土地用途": "工业用地", "出让年限": "50 年"}
OK_GREEN = "rgb(10, 107, 45)"  # --ok in openbid.css


@pytest.mark.parametrize("reserve", [36_000_000, None], ids=["failed", "sold"])
async def test_a_closed_lot_states_its_terms_and_outcome_and_takes_no_bid(
    served: str, admin: httpx.AsyncClient, browser: Browser, screenshots: Path,
    reserve: int | None,
) -> None:  # fmt: skip
    lot, (a,) = await lot_in_limited(
        admin, "甲公司", countdown_s=1, reserve=reserve, particulars=PARTICULARS
    )
    sent = await admin.post(f"/api/lots/{lot}/bids", headers=bearer(a["token"]),
                            json={"bid_id": "1", "price": 34_380_000})  # fmt: skip
    assert sent.json()["accepted"]
    page = await open_page(browser, f"{served}/lots/{lot}#token={a['token']}")
    await expect(page.locator("#phase")).to_have_text("已结束")  # the countdown ran out
    terms = page.locator("#terms")
    for shown in (
        "增价幅度",
        shown_money(500_000),
        "报名截止",
        "保证金到账截止",
        *PARTICULARS.values(),
    ):
        await expect(terms).to_contain_text(shown)
    await expect(page.locator("#bidform")).to_be_hidden()
    outcome = page.locator("#outcome")
    verdict = page.locator("#outcome dd.outcome")
    if reserve is None:
        await expect(verdict).to_have_text("成交")
        await expect(outcome).to_contain_text(a["plate"])
        await expect(outcome).to_contain_text("甲公司")
        await expect(outcome).to_contain_text(shown_money(34_380_000))
        await expect(verdict).to_have_css("color", OK_GREEN)
    else:
        await expect(verdict).to_have_text("流拍")
        await expect(outcome).to_contain_text("最高出价低于保留价")
        revealed = f"{shown_money(reserve)} 元 · 与开始前公布的承诺值一致"  # checked in the page
        await expect(outcome).to_contain_text(revealed)
        assert await verdict.evaluate("e => getComputedStyle(e).color") != OK_GREEN
        assert "ok" not in (await page.locator("#message").get_attribute("class") or "")
    await assert_accessible(page)
    await page.screenshot(path=screenshots / f"lot-closed-{'failed' if reserve else 'sold'}.png")
