"""The transparency log's anchors in the store: for each anchored checkpoint, by its tree
size, the note's text and the RFC 3161 token a time-stamping authority gave over it.

Keys (under `{tlog}`, the tree's slot): a hash, tree size -> the record (msgpack); a sorted
set of the anchored sizes, for the latest one; and a lease that lets one process of those
sharing the store ask the TSA once an interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.store.keys import TLOG_KEYS
from server.store.scripts import pack, unpack

__all__ = ["Anchor", "Anchors"]


@dataclass(frozen=True, slots=True)
class Anchor:
    """A checkpoint of `size` leaves (`note`, its signed note's text) and the TSA's token
    over SHA-256 of the note's bytes (DER of the CMS ContentInfo)."""

    size: int
    note: str
    token: bytes


class Anchors:
    def __init__(self, client: Any) -> None:
        self.client: Any = client

    async def claim(self, interval_s: float) -> bool:
        """True for the one process that may ask the TSA now; the next may in `interval_s`."""
        lease = max(1, int(interval_s * 1000))
        return bool(await self.client.set(TLOG_KEYS["anchoring"], b"1", nx=True, px=lease))

    async def save(self, anchor: Anchor) -> None:
        """Keep `anchor` (the first token over a size stays: each is as good)."""
        record = pack({"note": anchor.note, "token": anchor.token})
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(TLOG_KEYS["anchors"], str(anchor.size), record)
            pipe.zadd(TLOG_KEYS["anchored"], {str(anchor.size): anchor.size})
            await pipe.execute()

    async def latest_size(self) -> int | None:
        """The largest anchored tree size, None before the first anchor."""
        found = await self.client.zrange(TLOG_KEYS["anchored"], 0, 0, desc=True)
        return int(found[0]) if found else None

    async def get(self, size: int | None = None) -> Anchor | None:
        """The anchor of the tree of `size` leaves (the latest by default), None if the
        checkpoint of that size was never anchored."""
        size = await self.latest_size() if size is None else size
        if size is None:
            return None
        raw = await self.client.hget(TLOG_KEYS["anchors"], str(size))
        if raw is None:
            return None
        record = unpack(raw)
        return Anchor(size, record["note"], record["token"])
