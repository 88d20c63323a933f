"""An opening that requires bidders' signatures, driven through the bidder's page in a real
Chromium: each bidder's browser makes its key at `/keys` (non-extractable, kept in its
IndexedDB), the centre registers the public half, and the page signs the envelope, the
sign-in, the objection and the confirmation; the log holds each signature and `openbid
verify` checks them all. A browser without the registered key (none, or another) uploads
nothing and signs in to nothing, and its message line says why."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page, expect

from auction.opening.envelope import digest, seal
from auction.signatures import OPENING_SIGNED, PublicKey, message
from tests.conftest import ADMIN, TIMEOUT
from tests.pages.conftest import DESKTOP
from tests.pages.test_console_pages import staff_context
from tests.pages.test_lot_pages import shown_money
from tests.pages.test_opening_pages import HEX, PHASE_WAIT_MS
from tests.server.helpers import bearer
from tests.server.services.test_signatures import P256

SEAL_WITHIN_MS = 10_000  # from the opening's creation to its deadline: both bidders seal
PRICES = {"甲": 38_460_000_00, "乙": 39_125_000_00}  # sealed in their own pages
NO_KEY = "本次开标须签名"  # the page's own words: this browser holds no key to sign with
BAD_SIGNATURE = "签名缺失或验证未通过"  # the server's: a key that is not the registered one
SEALED = "投标文件已加密递交"


async def keyed_context(browser: Browser, served: str) -> tuple[BrowserContext, str]:
    """A bidder's browser that has made its signing key at `/keys`, and the key's public
    PEM, for the centre to register."""
    context = await browser.new_context(viewport=DESKTOP, locale="zh-CN")  # type: ignore[arg-type]
    keys = await context.new_page()
    await keys.goto(f"{served}/keys")
    await keys.click("#make")
    await expect(keys.locator("#pem")).to_have_value(re.compile("^-----BEGIN PUBLIC KEY-----"))
    pem = await keys.locator("#pem").input_value()
    await keys.close()
    return context, pem


async def register(admin: httpx.AsyncClient, opening: str, name: str, pem: str) -> dict[str, Any]:
    made = await admin.post(
        f"/api/openings/{opening}/bidders", json={"name": name, "public_key": pem}
    )
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


async def room(context: BrowserContext, served: str, opening: str, made: dict[str, Any]) -> Page:
    page = await context.new_page()
    await page.goto(f"{served}/openings/{opening}#token={made['token']}")
    await expect(page.locator("#plate")).to_have_text(made["plate"])
    return page


async def seal_on_page(page: Page, price: int) -> None:
    await page.fill("#sealform [name=price]", f"{price // 100:,}")
    await page.fill("#sealform [name=duration_days]", "365")
    await page.click("#sealform button[type=submit]")


async def entries(admin: httpx.AsyncClient, opening: str) -> list[dict[str, Any]]:
    document = (await admin.get(f"/api/openings/{opening}/audit")).json()
    return [row["entry"] for row in document["entries"]]


def openbid_verify(document: dict[str, Any], path: Path) -> str:
    path.write_text(json.dumps(document, ensure_ascii=False))
    verified = subprocess.run([sys.executable, "-m", "server.cli", "verify", str(path)],
                              capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    return verified.stdout


async def test_each_bidder_signs_its_opening_on_the_page_with_its_browser_key(
    served: str, admin: httpx.AsyncClient, browser: Browser, tmp_path: Path
) -> None:
    browsers = {name: await keyed_context(browser, served) for name in PRICES}
    now = (await admin.get("/api/health")).json()["server_now"]
    config = {"title": "某水厂扩建工程（签名开标）", "bid_deadline": now + SEAL_WITHIN_MS,
              "decrypt_window_s": 120, "min_bidders": 2, "signatures": "required"}  # fmt: skip
    opening = (await admin.post("/api/openings", json=config)).json()["opening_id"]
    made = {name: await register(admin, opening, name, pem) for name, (_, pem) in browsers.items()}
    pages = {name: await room(browsers[name][0], served, opening, made[name]) for name in PRICES}
    for name, page in pages.items():
        await seal_on_page(page, PRICES[name])
        await expect(page.locator("#message")).to_have_text(SEALED)
        await expect(page.locator("#envelopedigest")).to_have_text(HEX)
        await page.click("#signin")  # sign-in opens before the deadline
        await expect(page.locator("#message")).to_have_text("已接受")
        await expect(page.locator("#signin")).to_be_hidden()

    host = await (await staff_context(browser, ADMIN)).new_page()
    await host.goto(f"{served}/openings/{opening}?staff=1")
    await expect(host.locator("#phase")).to_have_text("签到", timeout=PHASE_WAIT_MS)
    await expect(host.locator("#signedin")).to_have_text("2")
    await host.click("#advance")  # 公布投标人
    await expect(host.locator("#bidders tr")).to_have_count(2)
    await host.click("#advance")  # 解密
    for page in pages.values():
        await expect(page.locator("#phase")).to_have_text("解密")
        await page.click("#decryptform button[type=submit]")  # the key kept since sealing
        await expect(page.locator("#mystatus")).to_have_text("解密成功")

    await host.click("#advance")  # 唱标
    await expect(host.locator("#rows tr")).to_have_count(2)
    for name, price in PRICES.items():
        row = host.locator(f"#rows tr[data-plate='{made[name]['plate']}']")
        await expect(row).to_contain_text(shown_money(price))
    objecting = pages["甲"]
    await objecting.fill("#objectiontext", "请核对乙的工期")
    await objecting.click("#objectform button")
    await expect(host.locator("#objections li")).to_contain_text("请核对乙的工期")
    await host.fill("#objections input", "工期以投标文件为准")
    await host.click("#objections button")
    await expect(objecting.locator("#objections li")).to_contain_text("工期以投标文件为准")
    await host.click("#advance")  # 确认开标记录
    for page in pages.values():
        await expect(page.locator("#recordhash")).to_have_text(HEX)
        await page.click("#confirmrecord")
        await expect(page.locator("#message")).to_have_text("已接受")
        await expect(page.locator("#confirmrecord")).to_be_hidden()
    await host.click("#advance")  # 开标结束
    await expect(host.locator("#phase")).to_have_text("开标结束")

    logged = await entries(admin, opening)
    kinds = {kind: command for command, (kind, _) in OPENING_SIGNED.items()}
    for name, (_, pem) in browsers.items():
        plate, key = made[name]["plate"], PublicKey.load(pem)
        mine = [e for e in logged if e.get("plate") == plate and e["kind"] in kinds]
        assert {e["kind"] for e in mine} >= {"envelope", "signed_in", "confirmed"}
        for entry in mine:  # each signed by this browser's key, over what the entry says
            fields = {f: entry.get(f) for f in OPENING_SIGNED[kinds[entry["kind"]]][1]}
            assert key.verify(message(opening, plate, kinds[entry["kind"]], **fields), entry["sig"])
    assert (
        sum(e["kind"] in kinds for e in logged) == 7
    )  # two envelopes, two sign-ins, two confirmations, one objection
    document = (await admin.get(f"/api/openings/{opening}/audit")).json()
    said = openbid_verify(document, tmp_path / "signed-opening-audit.json")
    assert f"ok: opening {opening}," in said and ", 7 signatures," in said


async def test_a_browser_without_the_registered_key_neither_uploads_nor_signs_in(
    served: str, admin: httpx.AsyncClient, browser: Browser
) -> None:
    """The bidder's link alone is not enough where signatures are required: a browser with
    no key is told to make one, one with another key is refused, and nothing is logged."""
    now = (await admin.get("/api/health")).json()["server_now"]
    config = {"title": "某水厂扩建工程（签名拒绝）", "bid_deadline": now + 600_000,
              "decrypt_window_s": 120, "signatures": "required"}  # fmt: skip
    opening = (await admin.post("/api/openings", json=config)).json()["opening_id"]
    registered = P256()  # the bidder's real key, which neither browser holds
    made = await register(admin, opening, "丙", registered.pem)
    before = await entries(admin, opening)

    keyless = await browser.new_context(viewport=DESKTOP, locale="zh-CN")  # type: ignore[arg-type]
    page = await room(keyless, served, opening, made)
    await seal_on_page(page, 40_000_000_00)
    await expect(page.locator("#message")).to_contain_text(NO_KEY)
    await page.close()
    other, _ = await keyed_context(browser, served)  # a key of its own, not registered
    page = await room(other, served, opening, made)
    await seal_on_page(page, 40_000_000_00)
    await expect(page.locator("#message")).to_have_text(BAD_SIGNATURE)
    assert await entries(admin, opening) == before

    sealed = seal(opening, made["bidder_id"], {"price": 40_000_000_00}, None)
    fields = {"digest": digest(sealed.nonce, sealed.ciphertext), "commitment": sealed.commitment}
    sig = registered.sign(message(opening, made["plate"], "envelope", **fields))
    upload = sealed.upload() | {"sig": sig}
    sent = await admin.post(
        f"/api/openings/{opening}/envelopes", json=upload, headers=bearer(made["token"])
    )
    assert sent.json()["accepted"], sent.text
    await expect(page.locator("#envelopedigest")).to_have_text(HEX)  # the page hears of it
    await page.click("#signin")
    await expect(page.locator("#message")).to_have_text(BAD_SIGNATURE)
    await page.close()
    page = await room(keyless, served, opening, made)
    await page.click("#signin")
    await expect(page.locator("#message")).to_contain_text(NO_KEY)
    logged = await entries(admin, opening)
    assert [e["kind"] for e in logged[len(before) :]] == ["envelope"]  # the API's, signed
