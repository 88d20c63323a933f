"""A bidder's room in a real Chromium tells it where to pay its deposit: its own
sub-account, until the bank's arrival qualifies it."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.pages.test_lot_pages import open_page
from tests.server.helpers import make_lot
from tests.server.services.test_money import DEPOSIT, Bank, account_of, party_bidder
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
