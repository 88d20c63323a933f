"""The platform's money registers: which lot and bidder a sub-account number is, which lot
a bank transfer's `ref` went to, so that the same ref on another lot is refused (RULES
§0.5: "每笔竞买保证金只对应一个标的"), and which a guarantee's number backs, so that its
issuer confirms it by number. A lot's own log keeps its deposits; these only route
the bank's callbacks to it. Refs are kept as keyed hashes (the bank's references are the
bidders' business, not the store's readers'), and so are guarantee numbers."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from auction.money.accounts import sub_account
from server.store.keys import MONEY_KEYS, money_day
from server.store.scripts import pack, unpack

__all__ = ["MoneyBook"]


class MoneyBook:
    def __init__(self, client: Any, secret: bytes) -> None:
        self.client: Any = client
        self._secret = secret

    async def account(self, lot_id: str, bidder_id: str) -> str:
        """The bidder's sub-account for the lot, opened on first asking: the first number
        of its draws (auction/money/accounts.py) that no one else holds."""
        owner = pack([lot_id, bidder_id])
        for draw in range(100):
            number = sub_account(self._secret, lot_id, bidder_id, draw)
            if await self.client.hsetnx(MONEY_KEYS["accounts"], number, owner):
                return number
            if await self.client.hget(MONEY_KEYS["accounts"], number) == owner:
                return number
        raise RuntimeError("no free sub-account number in 100 draws")  # 10^12 numbers

    async def owner(self, number: str) -> tuple[str, str] | None:
        """The lot and the bidder a sub-account is, None for a number nobody holds."""
        raw = await self.client.hget(MONEY_KEYS["accounts"], number)
        if raw is None:
            return None
        lot_id, bidder_id = unpack(raw)
        return str(lot_id), str(bidder_id)

    async def ref_lot(self, ref: str, lot_id: str) -> str:
        """The lot the bank's `ref` pays into: the first lot to claim it keeps it (this one,
        if the ref is new)."""
        await self._claim("refs", f"ref|{ref}", lot_id.encode())
        owner = await self.client.hget(MONEY_KEYS["refs"], self._hashed(f"ref|{ref}"))
        return str(owner.decode())

    async def claim_guarantee(self, number: str, lot_id: str, bidder_id: str) -> bool:
        """Whether a guarantee `number` may be filed for this lot's bidder: one guarantee
        backs one bidder of one lot."""
        return await self._claim("guarantees", f"guarantee|{number}", pack([lot_id, bidder_id]))

    async def guaranteed(self, number: str) -> tuple[str, str] | None:
        """The lot and the bidder a guarantee `number` was filed for, None if never."""
        raw = await self.client.hget(MONEY_KEYS["guarantees"], self._hashed(f"guarantee|{number}"))
        if raw is None:
            return None
        lot_id, bidder_id = unpack(raw)
        return str(lot_id), str(bidder_id)

    async def moved(self, day: str, lot_id: str) -> None:
        """Note that the lot's money moved on `day` (YYYY-MM-DD)."""
        await self.client.sadd(money_day(day), lot_id)

    async def moved_on(self, day: str) -> list[str]:
        """The lots whose money moved on `day`."""
        return sorted(raw.decode() for raw in await self.client.smembers(money_day(day)))

    async def _claim(self, register: str, said: str, owner: bytes) -> bool:
        key = self._hashed(said)
        if await self.client.hsetnx(MONEY_KEYS[register], key, owner):
            return True
        return bool(await self.client.hget(MONEY_KEYS[register], key) == owner)

    def _hashed(self, said: str) -> str:
        return hmac.new(self._secret, said.encode(), hashlib.sha256).hexdigest()
