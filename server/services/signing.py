"""Bidders' signatures, checked before a command reaches the rules (auction/signatures.py).

A lot's `signatures` setting decides: `off`, a signature sent is ignored; `optional`, one
sent must hold; `required`, every bid, continue and accept carries one that holds. A
signature that does not hold is refused `BAD_SIGNATURE` with nothing logged; one that holds
is logged on the entry its command writes, where `openbid verify` checks it again. SM2
checks run in a worker thread (Tongsuo's C code lets go of the interpreter meanwhile), so
several bidders' signatures are checked at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from auction.errors import Refused
from auction.lot.config import LotConfig
from auction.signatures import PublicKey, message
from server.store.keys import lot_keys
from server.store.lots import LotBook

__all__ = ["Signatures"]

CACHED = 10_000  # bidders whose keys and plates are kept at hand


class Signatures:
    def __init__(self, book: LotBook) -> None:
        self.book = book
        self._known: dict[tuple[str, str], tuple[PublicKey | None, str]] = {}

    async def keep_key(self, lot_id: str, bidder_id: str, pem: str) -> None:
        """A registering bidder's key, before its registration is logged with it."""
        await self.book.client.hset(lot_keys(lot_id)["keys"], bidder_id, pem)

    async def checked(
        self, lot_id: str, config: LotConfig, bidder_id: str, command: str,
        sig: object, **fields: Any,
    ) -> str | None:  # fmt: skip
        """The signature to log with `command`, or None; Refused BAD_SIGNATURE when the
        lot needs one and it is missing, or one is sent that does not hold."""
        if config.signatures == "off":
            return None
        if sig is None:
            if config.signatures == "required":
                raise Refused("BAD_SIGNATURE")
            return None
        key, plate = await self._signer(lot_id, bidder_id)
        signed = message(lot_id, plate, command, **fields)
        if key is None:
            raise Refused("BAD_SIGNATURE")
        if key.algorithm == "sm2":
            holds = await asyncio.to_thread(key.verify, signed, sig)
        else:
            holds = key.verify(signed, sig)
        if not holds:
            raise Refused("BAD_SIGNATURE")
        return str(sig)

    async def _signer(self, lot_id: str, bidder_id: str) -> tuple[PublicKey | None, str]:
        found = self._known.get((lot_id, bidder_id))
        if found is None:
            pem = await self.book.client.hget(lot_keys(lot_id)["keys"], bidder_id)
            bidder = await self.book.bidder(lot_id, bidder_id)
            plate = str(bidder["plate"]) if bidder else ""
            found = (PublicKey.load(pem.decode()) if pem else None, plate)
            if len(self._known) >= CACHED:
                self._known.clear()
            self._known[(lot_id, bidder_id)] = found
        return found
