"""Keeps each lot's audit hash chain up with its log, from any number of processes.

Redis's Lua has no SHA-256, so the chain is computed here, in the process that just wrote,
and stored with a compare-and-set script: two processes racing to extend the same lot both
compute the same hashes over the same stored bytes, and the second one's write is refused
without harm. A lot's chain lags its log by at most one in-flight batch; `catch_up` closes
the gap before an export. Each time it extends a chain it tells `on_chained` (the
transparency log, which then puts the new entries in its tree).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from auction.log import genesis, link
from server.store.logs import Logs

__all__ = ["Chainer"]

BATCH = 1000


class Chainer:
    def __init__(self, logs: Logs) -> None:
        self.logs = logs
        self.on_chained: Callable[[str], Awaitable[None]] | None = None  # a log's chain grew
        self._locks: dict[str, asyncio.Lock] = {}
        self._pending: dict[str, asyncio.Task[tuple[int, str]]] = {}

    def poke(self, lot_id: str) -> None:
        """The lot's log grew: extend its chain soon, once however often it is poked."""
        if lot_id not in self._pending:
            task = asyncio.create_task(self.catch_up(lot_id))
            self._pending[lot_id] = task
            task.add_done_callback(lambda _: self._pending.pop(lot_id, None))

    async def catch_up(self, lot_id: str) -> tuple[int, str]:
        """Chain every entry logged so far; returns (last chained seq, head hash)."""
        lock = self._locks.setdefault(lot_id, asyncio.Lock())
        async with lock:
            while True:
                n, head = await self.logs.chain_state(lot_id)
                raws = await self.logs.log(lot_id, since=n, count=BATCH)
                if not raws:
                    return n, head
                hashes, previous = [], head or genesis(lot_id)
                for raw in raws:
                    previous = link(previous, raw)
                    hashes.append(previous)
                moved = await self.logs.extend_chain(lot_id, n + 1, head, hashes)
                if moved == n + len(hashes) and self.on_chained is not None:
                    await self.on_chained(lot_id)

    async def close(self) -> None:
        for task in list(self._pending.values()):
            with contextlib.suppress(Exception):
                await task
