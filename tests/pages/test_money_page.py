"""Money in a real Chromium: a bidder's room tells it where to pay its deposit (its own
sub-account) until the bank's arrival qualifies it; the console shows the staff every
bidder's sub-account and, after the close, the refunds, and the host records the contract."""

from __future__ import annotations

import re
import secrets

import httpx
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from tests.conftest import ADMIN, SUPERVISOR
from tests.pages.conftest import assert_accessible
from tests.pages.test_console_pages import staff_context
from tests.pages.test_lot_pages import open_page
from tests.server.helpers import bearer, closing, lot_in_limited, make_lot
from tests.server.services.test_money import (
    DEPOSIT,
    Bank,
    account_of,
    issuer_says,
    party_bidder,
)
from tests.server.services.test_openings import new_opening
from tests.server.services.test_parties import new_party
from tests.server.services.test_staff import add


async def test_the_room_shows_the_sub_account_until_the_deposit_arrives(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient, browser: Browser
) -> None:
    lot = await make_lot(admin)
    bidder = await party_bidder(public, lot)
    account = await account_of(public, lot, bidder)
    room = await open_page(browser, f"{served}/lots/{lot}#token={bidder['token']}")
    grouped = " ".join(account[i : i + 4] for i in range(0, len(account), 4))
    await expect(room.locator("#subaccount")).to_contain_text(grouped)
    await expect(room.locator("#qualified")).to_have_text("未取得竞买资格")
    bank = Bank(admin, await add(admin, "交通银行", "bank"))
    paid = await bank.arrived(account, DEPOSIT, "bocom-1", bidder["party"]["account"])
    assert paid.json()["qualified"] is True
    await expect(room.locator("#qualified")).to_have_text("已取得竞买资格")


async def test_the_console_shows_the_money_of_a_closed_lot_and_records_the_contract(
    served: str, admin: httpx.AsyncClient, browser: Browser, redis: Redis
) -> None:
    lot, (_, b) = await lot_in_limited(admin, "甲公司", "乙公司", countdown_s=1)
    async with closing(redis, lot):
        bid = {"bid_id": "b1", "price": 34_380_000}
        await admin.post(f"/api/lots/{lot}/bids", json=bid, headers=bearer(b["token"]))
    host = await (await staff_context(browser, ADMIN)).new_page()
    await host.goto(f"{served}/console#lot={lot}")
    rows = host.locator("#refunds tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("甲公司")
    await expect(rows.nth(0)).to_contain_text("待退还")
    await expect(rows.nth(1)).to_contain_text("待合同签订（定金）")
    accounts = host.locator("#lotbidders td:nth-child(5)")
    await expect(accounts.first).to_have_text(re.compile(r"^\d{19}$"))
    await assert_accessible(host)
    await host.click("#lotcontract")
    await expect(rows.nth(1)).to_contain_text("待退还")
    supervisor = await (await staff_context(browser, SUPERVISOR)).new_page()
    await supervisor.goto(f"{served}/console#lot={lot}")
    await expect(supervisor.locator("#refunds tr")).to_have_count(2)
    await expect(supervisor.locator("#lotcontract")).to_be_hidden()  # the host's to record


async def test_a_guarantee_revoked_under_the_lead_suspends_the_room_for_the_staff(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient, browser: Browser
) -> None:
    issuer = await add(admin, "中国建设银行北京分行", "issuer")
    lot = await make_lot(admin)
    bidder = await party_bidder(public, lot)
    number = f"BG{secrets.token_hex(6)}"
    guarantee = {"kind": "guarantee", "issuer": "中国建设银行北京分行", "number": number,
                 "amount": DEPOSIT, "valid_until": "2099-12-31"}  # fmt: skip
    filed = await public.post(f"/api/lots/{lot}/bidders/{bidder['bidder_id']}/guarantees",
                              json=guarantee, headers=bearer(bidder["token"]))  # fmt: skip
    assert filed.json()["accepted"], filed.text
    assert (await issuer_says(public, issuer, number, "confirm")).json()["qualified"] is True
    bid = {"bid_id": "g1", "price": 34_380_000}
    led = await public.post(f"/api/lots/{lot}/bids", json=bid, headers=bearer(bidder["token"]))
    assert led.json()["accepted"], led.text
    room = await open_page(browser, f"{served}/lots/{lot}")  # the public's
    await expect(room.locator("#phase")).to_have_text("自由报价")
    revoked = await issuer_says(public, issuer, number, "revoke")
    assert revoked.json()["qualified"] is False
    await expect(room.locator("#phase")).to_have_text("已中止")
    await expect(room.locator("#message")).to_contain_text("竞买人保函已被撤销")
    seen = (await public.get(f"/api/lots/{lot}")).json()
    assert (seen["phase"], seen["price"]) == ("suspended", 34_380_000)  # the bid stands


async def test_the_opening_room_shows_the_tenderer_its_sub_account_until_the_bond_arrives(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient, browser: Browser
) -> None:
    opening = await new_opening(admin, deposit=DEPOSIT)
    party = await new_party(public)
    joined = await public.post(f"/api/openings/{opening}/bidders", json={},
                               headers=bearer(party["token"]))  # fmt: skip
    tenderer = joined.json()
    path = f"/api/openings/{opening}/bidders/{tenderer['bidder_id']}/account"
    account = (await public.get(path, headers=bearer(tenderer["token"]))).json()["account"]
    room = await open_page(browser, f"{served}/openings/{opening}#token={tenderer['token']}")
    grouped = " ".join(account[i : i + 4] for i in range(0, len(account), 4))
    await expect(room.locator("#subaccount")).to_contain_text(grouped)
    bank = Bank(admin, await add(admin, "浦发银行", "bank"))
    paid = await bank.arrived(account, DEPOSIT, "spdb-1", party["account"])
    assert paid.json()["status"] == "paid", paid.text
    await expect(room.locator("#subaccount")).to_have_text("已缴保证金")
