"""The host's console in a real Chromium: a lot created from the form (the server's
validation message lands beside its field), a bidder registered and handed a link, the
deposit confirmed, and the bidder then bids; the supervisor's console is read-only."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.conftest import ADMIN, SUPERVISOR
from tests.pages.conftest import DESKTOP, PHONE, assert_accessible
from tests.pages.test_lot_pages import open_page
from tests.server.helpers import make_lot, qualified_bidder


async def staff_context(browser: Browser, token: str, viewport: dict[str, int] = DESKTOP,
                        locale: str = "zh-CN") -> BrowserContext:  # fmt: skip
    """A browser whose tab is signed in to the console (the token is kept per tab)."""
    context = await browser.new_context(viewport=viewport, locale=locale)  # type: ignore[arg-type]
    await context.add_init_script(f"sessionStorage.setItem('openbid.staff', {token!r})")
    return context


async def sign_in(browser: Browser, base: str, token: str) -> Page:
    page = await open_page(browser, f"{base}/console")
    await page.fill("#stafftoken", token)
    await page.click("#signinform button[type=submit]")
    return page


async def test_a_host_creates_a_lot_registers_a_bidder_confirms_the_deposit_and_it_bids(
    served: str, browser: Browser, screenshots: Path
) -> None:
    console = await sign_in(browser, served, ADMIN)
    await expect(console.locator("#rolename")).to_have_text("主持人")
    await console.click("#newlot summary")
    form = console.locator("#lotform")
    await form.locator("[name=title]").fill("宝山区 GB00047 商服用地")
    await form.locator("[name=start_price]").fill("343,800")
    await form.locator("[name=increment]").fill("5000")
    await form.locator("[name=deposit]").fill("100000")
    await form.locator("[name=countdown_s]").fill("abc")
    await form.locator("button[type=submit]").click()
    await expect(console.locator("#err-lotform-countdown_s")).to_have_text("须为非负整数")

    await form.locator("[name=countdown_s]").fill("300")
    opens = await form.locator("[name=opens_at]").input_value()
    await form.locator("[name=free_ends_at]").fill("2020-01-01T00:00")  # before it opens
    await form.locator("button[type=submit]").click()
    error = console.locator("#err-lotform-free_ends_at")
    await expect(error).to_contain_text("不得早于")  # the server's message, in the page's language
    await expect(form.locator("[name=free_ends_at]")).to_have_attribute("aria-invalid", "true")

    ends = dt.datetime.fromisoformat(opens) + dt.timedelta(hours=2)
    await form.locator("[name=free_ends_at]").fill(ends.isoformat(timespec="minutes"))
    await form.locator("button[type=submit]").click()
    await expect(console.locator("#lottitle")).to_have_text("宝山区 GB00047 商服用地")
    await expect(console.locator("#lotphase")).to_have_text("自由报价")

    await console.fill("#lotregister [name=name]", "甲公司")
    await console.click("#lotregister button")
    handed = console.get_by_role("textbox", name="竞买链接")  # named for a screen reader
    await expect(handed).to_have_value(re.compile("#token="))
    link = await handed.input_value()
    await assert_accessible(console)  # the lot's panel open, the link handed out
    assert link.startswith(f"{served}/lots/")
    row = console.locator("#lotbidders tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("未取得竞买资格")
    await expect(row).to_contain_text("结束前保密")  # the host sees the plate, not the name (R9)
    await expect(row).not_to_contain_text("甲公司")
    room = await open_page(browser, link)
    await expect(room.locator("#qualified")).to_have_text("未取得竞买资格")

    await row.locator("input[name=ref]").fill("ICBC-20261125-0001")
    await row.locator("button").click()
    await expect(row).to_contain_text("已取得竞买资格")
    await expect(room.locator("#qualified")).to_have_text("已取得竞买资格")  # live, no reload
    await console.screenshot(path=screenshots / "console-host-zh-desktop.png", full_page=True)

    await expect(room.locator("#amount")).to_have_value("343800.00")
    await room.click("#send")
    await room.click("#yes")
    await expect(room.locator("#mine tr").first).to_contain_text("已接受")
    await console.click("#lotwatch")
    await expect(console.locator("#price")).to_contain_text("343,800.00")


async def test_the_supervisor_console_shows_everything_and_offers_no_action(
    served: str, admin: httpx.AsyncClient, browser: Browser, screenshots: Path
) -> None:
    lot = await make_lot(admin)
    bidder = await qualified_bidder(admin, lot, "乙公司")
    context = await staff_context(browser, SUPERVISOR, PHONE, "en-US")
    page = await context.new_page()
    await page.goto(f"{served}/console?lang=en#lot={lot}")
    await expect(page.locator("#rolename")).to_have_text("Supervisor")
    await expect(page.locator("#lotbidders tr")).to_contain_text(bidder["plate"])
    for form in ("#lotregister", "#newlot", "#newopening"):
        await expect(page.locator(form)).to_be_hidden()
    await expect(page.locator("#lotaudit")).to_be_visible()
    await page.screenshot(path=screenshots / "console-supervisor-en-phone.png", full_page=True)

    staff_view = await context.new_page()
    await staff_view.goto(f"{served}/lots/{lot}?staff=1&lang=en")
    entries = staff_view.locator("#entries")
    await expect(entries).to_contain_text("deposit")  # private entries, live to the staff
    await expect(staff_view.locator("#bidform")).to_be_hidden()


async def test_a_host_creates_a_listing_under_a_preset_with_its_particulars(
    served: str, browser: Browser
) -> None:
    """The preset refuses a listing shorter than the statute's 10 working days beside its
    field; a long enough one takes the preset's rules, which the lot page states with the
    particulars typed in. A lot without a preset is created with the findings as a warning."""
    console = await sign_in(browser, served, ADMIN)
    await console.click("#newlot summary")
    form = console.locator("#lotform")
    await form.locator("[name=title]").fill("2025B2 工业用地")
    await form.locator("[name=mode]").select_option("listing")
    await form.locator("[name=start_price]").fill("140000")
    await form.locator("[name=increment]").fill("2000")
    await form.locator("[name=deposit]").fill("600000")
    await form.locator("[name=preset]").select_option("shantou")
    await form.locator("[name=particulars]").fill("宗地面积：12,038 ㎡\n用途: 工业用地")
    await form.locator("button[type=submit]").click()  # free_ends_at: half an hour on
    await expect(console.locator("#err-lotform-free_ends_at")).to_contain_text("不少于 10 日")

    opens = dt.datetime.fromisoformat(await form.locator("[name=opens_at]").input_value())
    ends = (opens + dt.timedelta(days=21)).isoformat(timespec="minutes")
    await form.locator("[name=free_ends_at]").fill(ends)
    await form.locator("button[type=submit]").click()
    await expect(console.locator("#lottitle")).to_have_text("2025B2 工业用地")
    watch = await console.locator("#lotwatch").get_attribute("href")
    page = await open_page(browser, f"{served}{watch}")
    terms = page.locator("#terms")
    await expect(terms).to_contain_text("汕头网上交易规则")
    await expect(terms).to_contain_text("须在挂牌期间有效报价")  # Shantou 第19条
    await expect(terms).to_contain_text("300 秒")
    await expect(terms).to_contain_text("12,038 ㎡")
    await expect(terms).to_contain_text("工业用地")

    await console.click("#newlot summary")
    await form.locator("[name=title]").fill("无保证金的土地")
    await form.locator("[name=preset]").select_option("")
    await form.locator("[name=deposit]").fill("0")
    await form.locator("button[type=submit]").click()
    await expect(console.locator("#lottitle")).to_have_text("无保证金的土地")
    await expect(console.locator("#message")).to_contain_text("土地出让须设竞买保证金")


async def test_the_supervisor_console_lists_collusion_signals_with_their_evidence(
    served: str, admin: httpx.AsyncClient, browser: Browser
) -> None:
    lot = await make_lot(admin)
    payer = "6222020200112233445"
    for name in ("甲公司", "乙公司"):
        made = (await admin.post(f"/api/lots/{lot}/bidders", json={"name": name})).json()
        deposit = {"amount": 10_000_000, "kind": "cash", "ref": name, "payer_account": payer}
        await admin.post(f"/api/lots/{lot}/bidders/{made['bidder_id']}/deposit", json=deposit)
    context = await staff_context(browser, SUPERVISOR)
    page = await context.new_page()
    await page.goto(f"{served}/console#lot={lot}")
    row = page.locator("#signals tr[data-kind=shared_payer]")
    await expect(row).to_contain_text("同一账户缴纳保证金")
    await expect(row).to_contain_text(f"付款账户: {payer}")
    await expect(page.locator("#signalshead")).to_have_text("围串标预警")
    await assert_accessible(page)
    host = await (await staff_context(browser, ADMIN)).new_page()
    await host.goto(f"{served}/console#lot={lot}")
    await expect(host.locator("#lotbidders tr")).to_have_count(2)
    await expect(host.locator("#signalspanel")).to_be_hidden()
