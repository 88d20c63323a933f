"""Adaptive batching of commands on one lot: like a database's group commit.

Each process keeps at most one script call in flight per lot. Commands that arrive while
it is out wait and go together in the next call, decided one after the other exactly as
if sent alone. At a trickle every command goes alone at once; in a last-minute rush the
per-call cost of the script (reading the lot, the server's TIME) is paid once per batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from server.bidbook import BidBook, Reply

__all__ = ["Batcher"]

MAX_BATCH = 256
Pending = tuple[str, dict[str, Any], asyncio.Future[dict[str, Any]]]


class Batcher:
    def __init__(self, book: BidBook, on_reply: Callable[[str, Reply], None]) -> None:
        self.book = book
        self.on_reply = on_reply
        self._queues: dict[str, list[Pending]] = {}
        self._drains: set[asyncio.Task[None]] = set()
        self.calls = 0

    async def submit(self, lot_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Decide one command; returns its answer with the `server_now` it was decided at.
        Raises what the script call raised (NotFound for an unknown lot)."""
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(lot_id)
        if queue is None:  # nothing in flight for this lot: this caller drives
            self._queues[lot_id] = [(name, args, answer)]
            task = asyncio.create_task(self._drain(lot_id))
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)
        else:
            queue.append((name, args, answer))
        return await answer

    async def _drain(self, lot_id: str) -> None:
        queue = self._queues[lot_id]
        while queue:
            batch, queue[:] = queue[:MAX_BATCH], queue[MAX_BATCH:]
            try:
                reply = await self.book.decide(lot_id, [(n, a) for n, a, _ in batch])
            except Exception as error:
                for _, _, answer in batch:
                    answer.set_exception(error)
                continue
            self.calls += 1
            for (_, _, answer), result in zip(batch, reply.answers, strict=True):
                answer.set_result(result | {"server_now": reply.now})
            self.on_reply(lot_id, reply)
        del self._queues[lot_id]
