"""The signed documents of lots and openings (server/documents.py builds and signs them):
each built once, when its content is final, kept in the store and served the same ever
after, its SHA-256 put in the transparency log."""

from __future__ import annotations

import asyncio
from typing import Any

from auction.errors import Conflict, NotFound
from server.documents import DocumentSigner, confirmation_pdf, record_pdf
from server.services.lots import LotService
from server.services.openings import OpeningService
from server.store.keys import document_key

__all__ = ["Documents"]


class Documents:
    def __init__(self, lots: LotService, openings: OpeningService, signer: DocumentSigner) -> None:
        self.lots, self.openings, self.signer = lots, openings, signer
        self._building: dict[tuple[str, str], asyncio.Lock] = {}

    async def confirmation(self, lot_id: str, plate: str | None = None) -> bytes:
        """成交确认书 of a sold lot; Conflict before the close or for a lot not sold. A lot
        sold by quantity has one for each winner, `plate` (the first winner's if None);
        NotFound for a plate that won nothing."""
        found = await self.lots.result(lot_id, admin=False)  # NotFound, Conflict if open
        if found.get("outcome") != "sold":
            raise Conflict("未成交，无成交确认书", "the lot was not sold: no confirmation")
        config = await self.lots.book.config(lot_id) or {}
        shown = found | {"lot_id": lot_id, "closed_at": found["ts"]}
        shown |= {"title": config.get("title", ""), "quote_unit": config.get("quote_unit", "")}
        name = "confirmation"
        if plate is not None and plate != found["winner_plate"]:
            name = f"confirmation-{plate}"
        if "allocated" in found:  # the share of `plate` is the one it confirms
            plate = plate or found["winner_plate"]
            share = next((row for row in found["allocated"] if row["plate"] == plate), None)
            if share is None:
                raise NotFound("plate")
            shown |= {"share": share, "quantity_unit": config.get("quantity_unit", "")}
        elif name != "confirmation":
            raise NotFound("plate")
        return await self._kept(lot_id, name, "成交确认书", lambda: confirmation_pdf(shown))

    async def record(self, opening_id: str) -> bytes:
        """开标记录表 as issued; Conflict before it is."""
        found = await self.openings.record(opening_id)
        return await self._kept(opening_id, f"record-{found['record_seq']}", "开标记录表",
                                lambda: record_pdf(found))  # fmt: skip

    async def _kept(self, venue_id: str, name: str, reason: str, build: Any) -> bytes:
        key = document_key(venue_id, name)
        client = self.lots.book.client
        lock = self._building.setdefault((venue_id, name), asyncio.Lock())
        async with lock:
            kept = await client.get(key)
            if kept is None:
                kept = await asyncio.to_thread(lambda: self.signer.sign(build(), reason))
                await client.set(key, kept, nx=True)
                kept = await client.get(key)  # another process's, if it was first
            await self.lots.transparency.add_document(venue_id, kept)
        return bytes(kept)
