"""Adaptive batching of commands on one lot: like a database's group commit.

Commands on one lot that arrive while a script call is out wait and go together in a later
call, decided one after the other exactly as if sent alone. At a trickle every command goes
alone at once; in a last-minute rush the per-call cost of the script (reading the lot, the
server's TIME, the fsync) is paid once per batch.

Each process keeps up to `depth` calls in flight per lot (two by default), so it wakes the
bidders answered by one call while the server decides the next: with one, the process and
the server take turns and each idles half the time. Two calls in flight are ordered by the
server like calls from two processes; each is atomic. A client that needs its own commands
in order waits for each answer before the next (the WebSocket room reads a connection's
frames one at a time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.store.lots import LotBook, LotDecision
from server.store.scripts import unpack

__all__ = ["Batcher"]

MAX_BATCH = 256
Pending = tuple[str, dict[str, Any], asyncio.Future[dict[str, Any]]]


@dataclass(slots=True)
class _Lot:
    queue: list[Pending] = field(default_factory=list)
    in_flight: int = 0  # drain tasks running for this lot


class Batcher:
    def __init__(
        self, book: LotBook, on_reply: Callable[[str, LotDecision], None], depth: int = 2
    ) -> None:
        self.book = book
        self.on_reply = on_reply
        self.depth = depth
        self._lots: dict[str, _Lot] = {}
        self._drains: set[asyncio.Task[None]] = set()
        self.calls = 0

    async def submit(self, lot_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Decide one command; returns its answer with the `server_now` it was decided at
        and, when it wrote an entry, that entry's bytes as `entry_raw`. Raises what the
        script call raised (NotFound for an unknown lot)."""
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        lot = self._lots.get(lot_id)
        if lot is None:
            lot = self._lots[lot_id] = _Lot()
        lot.queue.append((name, args, answer))
        if lot.in_flight < self.depth:
            lot.in_flight += 1
            task = asyncio.create_task(self._drain(lot_id, lot))
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)
        return await answer

    async def _drain(self, lot_id: str, lot: _Lot) -> None:
        try:
            while lot.queue:
                batch, lot.queue[:] = lot.queue[:MAX_BATCH], lot.queue[MAX_BATCH:]
                await self._call(lot_id, batch)
        finally:
            lot.in_flight -= 1
            if not lot.in_flight and not lot.queue:
                del self._lots[lot_id]

    async def _call(self, lot_id: str, batch: list[Pending]) -> None:
        try:
            reply = await self.book.decide(lot_id, [(n, a) for n, a, _ in batch])
        except Exception as error:
            for _, _, answer in batch:
                answer.set_exception(error)
            return
        self.calls += 1
        raws = reply.raw_entries
        first = unpack(raws[0])["seq"] if raws else 0
        for (_, _, answer), result in zip(batch, reply.answers, strict=True):
            seq = result.get("seq")
            extra: dict[str, Any] = {"server_now": reply.now}
            if result.get("accepted") and isinstance(seq, int) and 0 <= seq - first < len(raws):
                extra["entry_raw"] = raws[seq - first]  # the entry it wrote, for its receipt
            answer.set_result(result | extra)
        self.on_reply(lot_id, reply)
