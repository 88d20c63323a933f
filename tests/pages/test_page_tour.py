"""Every page in both languages and at both sizes: the language switch takes, every control
has a name a screen reader can say, axe-core finds no accessibility rule broken (labels,
headings, contrast, ARIA), nothing is wider than a phone, and a screenshot of each is saved
under test-results/screenshots/."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from tests.conftest import ADMIN
from tests.pages.conftest import DESKTOP, PHONE, assert_accessible
from tests.pages.test_console_pages import staff_context
from tests.server.helpers import bearer, make_lot, qualified_bidder
from tests.server.services.test_parties import new_code

HEADINGS = {  # one piece of each page's text, in each language
    "hall": {"zh-CN": "今日交易", "en": "Today"},
    "lot": {"zh-CN": "出价记录", "en": "Bids"},
    "opening": {"zh-CN": "唱标", "en": "Read-out"},
    "console": {"zh-CN": "今日项目", "en": "Today's lots and openings"},
    "keypage": {"zh-CN": "签名密钥", "en": "Signing key"},
    "party": {"zh-CN": "我报名的竞价标的", "en": "Lots I registered in"},
}
SIZES = {"desktop": DESKTOP, "phone": PHONE}


def new_party_body() -> dict[str, str]:
    return {"name": "丙置业有限公司", "credit_code": new_code(), "account": "6222021234567890",
            "contact": "李四 13900000000"}  # fmt: skip


# Every visible control without a name: no label, no aria-label, no text.
UNNAMED = """() => [...document.querySelectorAll("input, select, textarea, button, a")]
  .filter((el) => el.offsetParent !== null)
  .filter((el) => !((el.labels && el.labels.length) || el.getAttribute("aria-label")
    || el.textContent.trim()))
  .map((el) => el.outerHTML)"""

# Every figure (price, plate, countdown…) whose text is wider than its box: it would run into
# the next one, as prices did on the big screen.
SPILLED = """() => [...document.querySelectorAll(".figure .value")]
  .filter((el) => el.offsetParent !== null && el.scrollWidth > el.clientWidth)
  .map((el) => `${el.id}: ${el.textContent} (${el.scrollWidth} > ${el.clientWidth})`)"""

SIDEWAYS = """() => [...document.querySelectorAll("table.cards")]
  .filter((table) => table.parentElement.scrollWidth > table.parentElement.clientWidth).length"""


async def ready(page: Page, name: str) -> None:
    """Wait until the page has shown what it loads."""
    if name == "hall":
        await expect(page.locator("#lots tr").first).to_be_visible()
    elif name == "console":
        await expect(page.locator("#lotbidders tr")).to_have_count(1)
    elif name == "keypage":
        await expect(page.locator("#state")).not_to_be_empty()
    elif name == "party":
        await expect(page.locator("#lots li a")).to_have_count(1)
    else:
        await expect(page.locator("#phase")).not_to_have_text("—")


async def check(page: Page, name: str, lang: str) -> None:
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await expect(page.locator("body")).to_contain_text(HEADINGS[name][lang])
    await expect(page.locator("h1")).to_be_visible()  # the big screen says which lot it shows
    assert await page.evaluate(UNNAMED) == []
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None and width <= viewport["width"]
    await assert_accessible(page)
    assert await page.evaluate(SPILLED) == []
    assert await page.evaluate(SIDEWAYS) == 0  # the hall's and console's lists fit a phone


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_every_page_in_both_languages_and_sizes(
    served: str, admin: httpx.AsyncClient, browser: Browser, screenshots: Path, lang: str,
    size: str,
) -> None:  # fmt: skip
    lot = await make_lot(admin)
    bidder = await qualified_bidder(admin, lot, "甲公司")
    await admin.post(f"/api/lots/{lot}/bids", json={"bid_id": "t1", "price": 34_380_000},
                     headers=bearer(bidder["token"]))  # fmt: skip
    now = (await admin.get("/api/health")).json()["server_now"]
    config = {"title": "某市政道路工程施工（第三标段）", "bid_deadline": now + 3_600_000,
              "decrypt_window_s": 1800}  # fmt: skip
    opening = (await admin.post("/api/openings", json=config)).json()["opening_id"]
    made = await admin.post(f"/api/openings/{opening}/bidders", json={"name": "乙"})

    party = (await admin.post("/api/parties", json=new_party_body())).json()
    await admin.post(f"/api/lots/{await make_lot(admin)}/bidders",
                     json={"party_id": party["party_id"]})  # fmt: skip
    context = await staff_context(browser, ADMIN, SIZES[size], lang)
    page = await context.new_page()
    blocked: list[str] = []  # what the Content-Security-Policy refused, as Chromium reports it

    def on_console(m: ConsoleMessage) -> None:
        if "Content Security Policy" in m.text:
            blocked.append(m.text)

    page.on("console", on_console)
    pages = {  # screenshot: (page, path and query, fragment)
        "hall": ("hall", "/?", ""),
        "lot-public": ("lot", f"/lots/{lot}?", ""),
        "lot-bidder": ("lot", f"/lots/{lot}?", f"#token={bidder['token']}"),
        "lot-screen": ("lot", f"/lots/{lot}?screen=1&", ""),
        "opening-public": ("opening", f"/openings/{opening}?", ""),
        "opening-bidder": ("opening", f"/openings/{opening}?", f"#token={made.json()['token']}"),
        "opening-screen": ("opening", f"/openings/{opening}?screen=1&", ""),
        "opening-host": ("opening", f"/openings/{opening}?staff=1&", ""),
        "console": ("console", "/console?", f"#lot={lot}"),
        "keys": ("keypage", "/keys?", ""),
        "party": ("party", "/parties/me?", f"#token={party['token']}"),
    }
    short = "zh" if lang == "zh-CN" else "en"
    for shot, (name, path, fragment) in pages.items():
        await page.goto("about:blank")  # a new fragment alone would not load the page again
        await page.goto(f"{served}{path}lang={lang}{fragment}")
        await ready(page, name)
        if "bidder" in shot:
            await expect(page.locator("#plate")).not_to_have_text("—")  # the bidder's own room
        await check(page, name, lang)
        await page.screenshot(path=screenshots / f"{shot}-{short}-{size}.png", full_page=True)
    assert blocked == []  # every page runs under the policy with nothing refused
