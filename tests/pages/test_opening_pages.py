"""A remote bid opening in a real Chromium: one bidder seals its bid in the browser with
WebCrypto (the server opens it at decryption, so the two formats agree), the host drives the
phases from the host view, and a viewer who came in through the public hall sees the 唱标
rows as they are read out, the objection and its reply, and the record. An opening with too
few envelopes says why it is not opened."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, expect

from auction.opening.envelope import seal
from tests.conftest import ADMIN
from tests.pages.conftest import PHONE, assert_accessible
from tests.pages.test_console_pages import staff_context
from tests.pages.test_lot_pages import open_page, shown_money
from tests.pages.test_page_tour import SIDEWAYS
from tests.server.helpers import bearer

SEAL_WITHIN_MS = 8000  # from now to the bid deadline: the browser seals in this time
PHASE_WAIT_MS = 15_000
PRICES = {"甲": 41_980_000_00, "乙": 42_350_000_00}  # sealed by their own clients (here)
BROWSER_PRICE = 40_770_000_00  # sealed by the third bidder in the page
KEY_TEXT = re.compile(r"^[A-Za-z0-9+/]{43}=$")  # 32 bytes in base64
HEX = re.compile(r"^[0-9a-f]{64}$")


async def register(admin: httpx.AsyncClient, opening: str, name: str) -> dict[str, Any]:
    made = await admin.post(f"/api/openings/{opening}/bidders", json={"name": name})
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


async def command(admin: httpx.AsyncClient, opening: str, token: str, **body: Any) -> None:
    sent = await admin.post(f"/api/openings/{opening}/commands", json=body, headers=bearer(token))
    assert sent.status_code == 200 and sent.json()["accepted"], sent.text


async def test_an_opening_watched_from_the_hall_shows_the_read_out_as_it_happens(
    served: str, admin: httpx.AsyncClient, browser: Browser, screenshots: Path
) -> None:
    now = (await admin.get("/api/health")).json()["server_now"]
    config = {"title": "某市政道路工程施工（第二标段）", "bid_deadline": now + SEAL_WITHIN_MS,
              "decrypt_window_s": 120, "min_bidders": 3}  # fmt: skip
    opening = (await admin.post("/api/openings", json=config)).json()["opening_id"]
    others: dict[str, tuple[dict[str, Any], str]] = {}
    for name, price in PRICES.items():
        made = await register(admin, opening, name)
        sealed = seal(opening, made["bidder_id"], {"price": price, "duration_days": 540}, None)
        sent = await admin.post(f"/api/openings/{opening}/envelopes", json=sealed.upload(),
                                headers=bearer(made["token"]))  # fmt: skip
        assert sent.json()["accepted"], sent.text
        others[name] = (made, base64.b64encode(sealed.key).decode())
    mine = await register(admin, opening, "丙")

    bidder = await open_page(browser, f"{served}/openings/{opening}#token={mine['token']}")
    await expect(bidder.locator("#plate")).to_have_text(mine["plate"])
    await bidder.fill("#sealform [name=price]", f"{BROWSER_PRICE // 100:,}")
    await bidder.fill("#sealform [name=duration_days]", "480")
    await bidder.fill("#sealform [name=quality]", "合格")
    await bidder.click("#sealform button[type=submit]")
    await expect(bidder.locator("#message")).to_have_text("投标文件已加密递交")
    await expect(bidder.locator("#envelopedigest")).to_have_text(HEX)  # the receipt
    async with bidder.expect_download() as saving:
        await bidder.click("#savekey")
    saved = await (await saving.value).path()
    assert KEY_TEXT.match(saved.read_text())  # the key, to keep; shown nowhere on the page
    assert not await bidder.evaluate("Object.keys(localStorage).some(k => k.includes('key'))")
    assert "token=" not in bidder.url  # taken out of the address once read
    await assert_accessible(bidder)  # sealed, the key to save
    await bidder.screenshot(path=screenshots / "opening-bidder-zh-desktop.png", full_page=True)

    hall = await open_page(browser, f"{served}/", PHONE)
    await hall.click(f"tr[data-opening='{opening}'] a >> nth=0")
    await expect(hall).to_have_url(f"{served}/openings/{opening}")
    host_context = await staff_context(browser, ADMIN)
    host = await host_context.new_page()
    await host.goto(f"{served}/openings/{opening}?staff=1")
    await expect(host.locator("#rolename")).to_have_text("主持")

    await expect(hall.locator("#phase")).to_have_text("签到", timeout=PHASE_WAIT_MS)
    await bidder.click("#signin")
    for made, _ in others.values():
        await command(admin, opening, made["token"], type="sign_in")
    await expect(hall.locator("#signedin")).to_have_text("3")
    await host.click("#advance")  # 公布投标人
    await expect(hall.locator("#bidders tr")).to_have_count(3)
    await host.click("#advance")  # 解密
    await expect(hall.locator("#phase")).to_have_text("解密")
    await expect(bidder.locator("#key")).to_have_value(KEY_TEXT)  # kept since sealing
    await bidder.click("#decryptform button[type=submit]")
    await expect(bidder.locator("#mystatus")).to_have_text("解密成功")
    await bidder.wait_for_function(  # handed over: the tab forgets the key
        "() => !Object.keys(sessionStorage).some(k => k.startsWith('openbid.key.'))"
    )
    for made, key in others.values():
        await command(admin, opening, made["token"], type="decrypt", key=key)
    await expect(hall.locator("#rows tr")).to_have_count(0)  # nothing read out before 唱标

    await host.click("#advance")  # 唱标
    rows = hall.locator("#rows tr")
    await expect(rows).to_have_count(3)
    expected = {mine["plate"]: BROWSER_PRICE} | {
        made["plate"]: PRICES[name] for name, (made, _) in others.items()
    }
    for plate, price in expected.items():
        await expect(hall.locator(f"#rows tr[data-plate='{plate}']")).to_contain_text(
            shown_money(price)
        )
    await expect(hall.locator(f"#rows tr[data-plate='{mine['plate']}']")).to_contain_text("480")
    await assert_accessible(hall)  # the read-out table on a phone
    assert await hall.evaluate(SIDEWAYS) == 0  # as cards: no column out of sight
    await hall.screenshot(path=screenshots / "opening-public-zh-phone.png", full_page=True)

    await bidder.fill("#objectiontext", "请核对工期")
    await bidder.click("#objectform button")
    await expect(hall.locator("#objections li")).to_contain_text("请核对工期")
    await host.fill("#objections input", "工期以投标文件为准")
    await host.click("#objections button")
    await expect(hall.locator("#objections li")).to_contain_text("工期以投标文件为准")
    await assert_accessible(host)  # every control of the host's, the objection answered
    await host.click("#advance")  # 确认开标记录
    await expect(hall.locator("#recordhash")).to_have_text(HEX)
    await bidder.click("#confirmrecord")
    await expect(bidder.locator("#message")).to_have_text("已接受")
    await host.screenshot(path=screenshots / "opening-host-zh-desktop.png", full_page=True)


async def test_an_opening_with_too_few_envelopes_says_why_it_is_not_opened(
    served: str, admin: httpx.AsyncClient, browser: Browser
) -> None:
    now = (await admin.get("/api/health")).json()["server_now"]
    config = {"title": "某学校食堂改造工程", "bid_deadline": now + 4000, "decrypt_window_s": 60}
    opening = (await admin.post("/api/openings", json=config)).json()["opening_id"]
    made = await register(admin, opening, "甲")
    sealed = seal(opening, made["bidder_id"], {"price": 1_000_000_00, "duration_days": 90}, None)
    sent = await admin.post(f"/api/openings/{opening}/envelopes", json=sealed.upload(),
                            headers=bearer(made["token"]))  # fmt: skip
    assert sent.json()["accepted"], sent.text
    page = await open_page(browser, f"{served}/openings/{opening}")
    await expect(page.locator("#phase")).to_have_text("开标终止", timeout=PHASE_WAIT_MS)
    await expect(page.locator("#message")).to_have_text(
        "递交投标文件的投标人仅 1 家，少于 3 家，不予开标，应当重新招标"
    )
    late = await open_page(browser, f"{served}/openings/{opening}?lang=en")  # from the replay
    await expect(late.locator("#message")).to_have_text(
        re.compile(r"^Tenderers who submitted: 1 \(at least 3")
    )


async def test_the_host_declares_a_platform_fault_with_its_note_from_the_page(
    served: str, admin: httpx.AsyncClient, browser: Browser
) -> None:
    """The fault form sends the note the record needs; the bidder whose decryption the
    platform failed is withdrawn (撤回), not voided, when the window closes."""
    now = (await admin.get("/api/health")).json()["server_now"]
    made = await admin.post("/api/openings", json={
        "title": "故障演练标段", "bid_deadline": now + 2500, "decrypt_window_s": 2,
        "min_bidders": 1,
    })  # fmt: skip
    opening = made.json()["opening_id"]
    bidders = {}
    for name, price in PRICES.items():
        found = await register(admin, opening, name)
        bid = {"price": price, "duration_days": 540, "quality": "合格"}
        sealed = seal(opening, found["bidder_id"], bid, ("a.pdf", b"x"))
        sent = await admin.post(f"/api/openings/{opening}/envelopes", json=sealed.upload(),
                                headers=bearer(found["token"]))  # fmt: skip
        assert sent.status_code == 200, sent.text
        bidders[name] = (found, base64.b64encode(sealed.key).decode())
    host = await (await staff_context(browser, ADMIN)).new_page()
    await host.goto(f"{served}/openings/{opening}?staff=1")
    await expect(host.locator("#phase")).to_have_text("签到", timeout=PHASE_WAIT_MS)
    for found, _ in bidders.values():
        await command(admin, opening, found["token"], type="sign_in")
    await host.click("#advance")  # 公布投标人
    await expect(host.locator("#bidders tr")).to_have_count(2)
    await host.click("#advance")  # 解密
    await expect(host.locator("#phase")).to_have_text("解密")

    (first, key), (second, _) = bidders["甲"], bidders["乙"]
    await command(admin, opening, first["token"], type="decrypt", key=key)
    await host.fill("#faultplate", second["plate"])
    await host.fill("#faultnote", "平台解密服务中断")
    await host.click("#fault")
    await expect(host.locator("#message")).to_have_text("已接受")
    withdrawn = host.locator("#bidders tr:has-text('乙')")
    await expect(withdrawn).to_contain_text("平台原因（撤回）", timeout=PHASE_WAIT_MS)
