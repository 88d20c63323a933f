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
from tests.server.helpers import make_lot


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
