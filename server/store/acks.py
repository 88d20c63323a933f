"""When a write may be acknowledged (issue 21). With `replicas` = N > 0, a write counts only
once `WAITAOF` says the primary's append-only file and N replicas' hold it: a bid, an
opening's decision, a deposit or a party's registration survives the loss of the primary's
machine, and nobody is told of one that might not.

`WAITAOF` waits for the writes of the connection it is sent on, and cannot run inside a
script; the primary's replication stream is one ordered stream, so a wait that covers a
write also covers every write the primary made before it, from any connection. Two uses:
- `written(write)`: a decision's script and its wait on one connection (a lot's, an
  opening's), the cost per batch of commands the script decides at once;
- `barrier()`: everything written before the call, by a marker write and its wait, one for
  every caller waiting meanwhile (group commit): the rest of a request's writes, and the
  transparency log's tree before a checkpoint is signed over it.

With N = 0 both return at once: a write is acknowledged on the primary's disk alone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from auction.errors import StoreUnavailable
from server.store.keys import BARRIER_KEY

__all__ = ["Acks"]

log = logging.getLogger(__name__)
T = TypeVar("T")
TIMEOUT_MS = 2000  # a replica's fsync and report; past it the bidder resends the bid_id


class Acks:
    def __init__(self, client: Any, replicas: int = 0, timeout_ms: int = TIMEOUT_MS) -> None:
        self.client: Any = client
        self.replicas, self.timeout_ms = replicas, timeout_ms
        self._current: asyncio.Task[None] | None = None  # the barrier's round in flight
        self._next: asyncio.Task[None] | None = None  # the one later callers share

    async def written(self, write: Callable[[Any], Awaitable[T]], what: str) -> T:
        """What `write(connection)` returns, once the local AOF and `replicas` replicas hold
        what it wrote. StoreUnavailable when they do not in time: the write is on the
        primary, unacknowledged; a later confirmed write covers it."""
        if not self.replicas:
            return await write(self.client)
        # one connection, two round trips: pipelined, the replica would report its AOF
        # before the write it fsyncs in the same turn, and the wait would take its next
        # report, a second later
        async with self.client.client() as connection:
            done = await write(connection)
            local, copies = await connection.execute_command(
                "WAITAOF", 1, self.replicas, self.timeout_ms
            )
        if local < 1 or copies < self.replicas:
            log.error("%s reached %d of %d replicas in %d ms", what, copies, self.replicas,
                      self.timeout_ms)  # fmt: skip
            raise StoreUnavailable()
        return done

    async def barrier(self) -> None:
        """Return once everything the primary wrote before the call is on `replicas`
        replicas' disks; StoreUnavailable when it is not in time. A round that started
        before the call may miss a write that ended just before it, so a caller waits for
        the next round to start; every caller arriving meanwhile shares that round."""
        if not self.replicas:
            return
        if self._next is None:
            self._next = asyncio.ensure_future(self._round(self._current))
        # shielded: one caller cancelled (its client gone) does not cancel the others' round
        await asyncio.shield(self._next)

    async def _round(self, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])  # its failure is its callers'
            if not before.cancelled():
                before.exception()  # seen, even if every caller of it was gone
        self._current, self._next = self._next, None
        await self.written(lambda connection: connection.incr(BARRIER_KEY), "a barrier")
