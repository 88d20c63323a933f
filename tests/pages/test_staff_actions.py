"""中止 from the lot's staff view in a real Chromium: the supervisor suspends, the public
page shows the lot suspended and why; the host asks to resume and is told it waits for the
other role; the supervisor's resume brings the lot back for everyone."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.conftest import ADMIN, SUPERVISOR
from tests.pages.conftest import assert_accessible
from tests.pages.test_console_pages import staff_context
from tests.pages.test_lot_pages import open_page
from tests.server.helpers import bearer, lot_in_limited, make_lot


async def test_staff_suspend_and_resume_a_lot_from_its_page(
    served: str, admin: httpx.AsyncClient, browser: Browser
) -> None:
    lot = await make_lot(admin)
    public = await open_page(browser, f"{served}/lots/{lot}")
    await expect(public.locator("#phase")).to_have_text("自由报价")
    pages = {}
    for name, token in (("host", ADMIN), ("supervisor", SUPERVISOR)):
        page = await (await staff_context(browser, token)).new_page()
        await page.goto(f"{served}/lots/{lot}?staff=1")
        await expect(page.locator("#staffform")).to_be_visible()
        pages[name] = page

    supervisor, host = pages["supervisor"], pages["host"]
    await assert_accessible(host)  # the staff form: labelled, reachable
    await supervisor.fill("#staffreason", "竞买人反映网络故障")
    await supervisor.click("#suspend")
    await expect(public.locator("#phase")).to_have_text("已中止")
    await expect(public.locator("#message")).to_contain_text("竞买人反映网络故障")

    await host.fill("#staffreason", "故障已排除")
    await host.click("#resume")
    await expect(host.locator("#message")).to_contain_text("待另一方")
    await expect(public.locator("#phase")).to_have_text("已中止")  # one role alone: still
    await supervisor.fill("#staffreason", "同意恢复")
    await supervisor.click("#resume")
    await expect(public.locator("#phase")).to_have_text("自由报价")
    await expect(public.locator("#message")).to_contain_text("同意恢复")


async def test_the_supervisor_draws_the_cap_lottery_from_the_lot_page(
    served: str, admin: httpx.AsyncClient, browser: Browser
) -> None:
    """摇号: the pool fixed, the public page says it waits for the draw; only the
    supervisor's page offers the draw; the outcome shows the pool and the share."""
    cap = 36_380_000
    lot, (a, b) = await lot_in_limited(admin, "甲", "乙", cap=cap, after_cap_s=1)
    public = await open_page(browser, f"{served}/lots/{lot}")
    pages = {}
    for name, token in (("host", ADMIN), ("supervisor", SUPERVISOR)):
        pages[name] = await (await staff_context(browser, token)).new_page()
        await pages[name].goto(f"{served}/lots/{lot}?staff=1")
        await expect(pages[name].locator("#staffform")).to_be_visible()
    await admin.post(f"/api/lots/{lot}/bids", json={"bid_id": "x", "price": cap},
                     headers=bearer(a["token"]))  # fmt: skip
    await admin.post(f"/api/lots/{lot}/accept", headers=bearer(b["token"]))

    await expect(public.locator("#phase")).to_have_text("接受期已结束，等待监督人摇号")
    await expect(pages["supervisor"].locator("#draw")).to_be_visible()
    await expect(pages["host"].locator("#draw")).to_be_hidden()
    await pages["supervisor"].click("#draw")
    await expect(public.locator("#phase")).to_have_text("已结束")
    outcome = public.locator("#outcome")
    await expect(outcome).to_contain_text(f"{a['plate']}、{b['plate']}")
    await expect(outcome).to_contain_text("监督人摇号随机数")
    share = (await admin.get(f"/api/lots/{lot}/result")).json()["lottery_share"]
    await expect(outcome).to_contain_text(share)  # made in the supervisor's browser
