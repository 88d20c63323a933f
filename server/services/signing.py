"""Bidders' signatures, checked before a command reaches the rules (auction/signatures.py).

A lot's or an opening's `signatures` setting decides: `off`, a signature sent is ignored;
`optional`, one sent must hold; `required`, every command a bidder signs carries one. A
signature that does not hold is refused `BAD_SIGNATURE` with nothing logged; one that holds
is logged on the entry its command writes, where `openbid verify` checks it again. SM2
checks run in a worker thread (Tongsuo's C code lets go of the interpreter meanwhile), so
several bidders' signatures are checked at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from auction.errors import BadMessage, Refused
from auction.opening.state import OpeningState
from auction.signatures import OPENING_SIGNED, PublicKey, message
from server.store.keys import lot_keys

__all__ = ["Signatures", "key_required"]

CACHED = 10_000  # bidders whose keys are kept at hand


def key_required() -> BadMessage:
    """Registering a bidder without a key where every command must be signed."""
    return BadMessage("public_key", "此项目须使用签名，请提供竞买人（投标人）的公钥",
                      "signed commands here: give the bidder's key")  # fmt: skip


class Signatures:
    def __init__(self, client: Any) -> None:
        self.client: Any = client
        self._keys: dict[tuple[str, str], PublicKey | None] = {}

    async def keep_key(self, venue_id: str, bidder_id: str, pem: str) -> None:
        """A registering bidder's key, before its registration is logged with it."""
        await self.client.hset(lot_keys(venue_id)["keys"], bidder_id, pem)

    async def checked(
        self, venue_id: str, mode: str, bidder_id: str, plate: Callable[[], Awaitable[str]],
        command: str, sig: object, **fields: Any,
    ) -> str | None:  # fmt: skip
        """The signature to log with `command`, or None; Refused BAD_SIGNATURE when the lot
        or opening (`mode`) needs one and it is missing, or one is sent that does not hold.
        `plate` gives the bidder's plate, asked for only when there is a signature."""
        if mode == "off":
            return None
        if sig is None:
            if mode == "required":
                raise Refused("BAD_SIGNATURE")
            return None
        key = await self._key(venue_id, bidder_id)
        if key is None:
            raise Refused("BAD_SIGNATURE")
        signed = message(venue_id, await plate(), command, **fields)
        if key.algorithm == "sm2":
            holds = await asyncio.to_thread(key.verify, signed, sig)
        else:
            holds = key.verify(signed, sig)
        if not holds:
            raise Refused("BAD_SIGNATURE")
        return str(sig)

    async def of_opening(
        self, opening_id: str, state: OpeningState, bidder_id: str, kind: str,
        sent: dict[str, Any],
    ) -> str | None:  # fmt: skip
        """`checked` for a bidder's command of an opening: the fields its message names
        are the state's where the state has them (the record a confirmation confirms)."""
        found = state.tenderers.get(bidder_id)

        async def plate() -> str:
            return found.plate if found else ""

        known = {"record_hash": state.record_hash} | sent
        fields = {name: known.get(name) for name in OPENING_SIGNED[kind][1]}
        return await self.checked(
            opening_id, state.config.signatures, bidder_id, plate, kind, sent.get("sig"),
            **fields,
        )  # fmt: skip

    async def _key(self, venue_id: str, bidder_id: str) -> PublicKey | None:
        if (venue_id, bidder_id) not in self._keys:
            pem = await self.client.hget(lot_keys(venue_id)["keys"], bidder_id)
            if len(self._keys) >= CACHED:
                self._keys.clear()
            self._keys[(venue_id, bidder_id)] = PublicKey.load(pem.decode()) if pem else None
        return self._keys[(venue_id, bidder_id)]
