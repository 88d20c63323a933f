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

A barrier's round runs on whatever connection the pool gives it: after a failover, on the
new primary, whose stream holds nothing of what a caller wrote to the old one. So every wait
notes the primary it ran on, and `epoch` counts the changes: a caller takes the epoch before
it writes, and a barrier of a later epoch does not confirm its writes (StoreUnavailable).
Primaries are told apart by address, as the Sentinels give them: a primary that moves
behind one floating address (a virtual IP, a DNS name) would not be told apart.

With N = 0 both return at once: a write is acknowledged on the primary's disk alone. The
waits rely on redis-py not retrying a command on a new connection (the pools' default: no
retries): WAITAOF resent on a connection with no writes would answer at once."""

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
SLACK_S = 3.0  # beyond the wait's own bound: a primary that stopped answering altogether
ASK_MS = 10  # WAITAOF again after this long: each wait makes the primary ask the replicas anew


class Acks:
    def __init__(self, client: Any, replicas: int = 0, timeout_ms: int = TIMEOUT_MS) -> None:
        self.client: Any = client
        self.replicas, self.timeout_ms = replicas, timeout_ms
        self._current: asyncio.Task[None] | None = None  # the barrier's round in flight
        self._next: asyncio.Task[None] | None = None  # the one later callers share
        # how often a wait found another primary than the one before; -1 until the first:
        # a caller that wrote before any primary was known is not confirmed by the first
        self.epoch = -1
        self._primary: tuple[Any, ...] | None = None

    async def written(self, write: Callable[[Any], Awaitable[T]], what: str) -> T:
        """What `write(connection)` returns, once the local AOF and `replicas` replicas hold
        what it wrote. StoreUnavailable when they do not in time: the write is on the
        primary, unacknowledged; a later confirmed write covers it."""
        if not self.replicas:
            return await write(self.client)
        # one connection, two round trips: pipelined, the replica would report its AOF
        # before the write it fsyncs in the same turn, and the wait would take its next
        # report, a second later
        try:
            async with (
                asyncio.timeout(self.timeout_ms / 1000 + SLACK_S),
                self.client.client() as connection,
            ):
                done = await write(connection)
                local, copies = await self._wait(connection)
                self._saw(connection.connection)
        except TimeoutError:
            log.error("%s: the primary did not answer", what)
            raise StoreUnavailable() from None
        if local < 1 or copies < self.replicas:
            log.error("%s reached %d of %d replicas in %d ms", what, copies, self.replicas,
                      self.timeout_ms)  # fmt: skip
            raise StoreUnavailable()
        return done

    async def _wait(self, connection: Any) -> tuple[int, int]:
        """WAITAOF for the connection's writes, asked again every ASK_MS until the bound.
        A blocked WAITAOF makes the primary ask the replicas where their AOF stands
        (REPLCONF GETACK); a replica that answers before its fsync is next heard from at
        its once-a-second report, so one long wait would often take a second. Asking again
        asks them again."""
        ends = asyncio.get_running_loop().time() + self.timeout_ms / 1000
        while True:
            left_ms = int((ends - asyncio.get_running_loop().time()) * 1000)
            step = max(1, min(ASK_MS, left_ms))  # 0 would wait for good
            local, copies = await connection.execute_command("WAITAOF", 1, self.replicas, step)
            if (local >= 1 and copies >= self.replicas) or left_ms <= ASK_MS:
                return int(local), int(copies)

    def _saw(self, link: Any) -> None:
        """Note the primary a wait ran on (its address, or its socket's path)."""
        where = (getattr(link, "host", None), getattr(link, "port", None),
                 getattr(link, "path", None))  # fmt: skip
        if where != self._primary:
            self.epoch += 1
            self._primary = where

    async def barrier(self, since: int | None = None) -> None:
        """Return once everything the primary wrote before the call is on `replicas`
        replicas' disks; StoreUnavailable when it is not in time, or when the primary is
        no longer the one of epoch `since` (the caller's writes went to another). A round
        that started before the call may miss a write that ended just before it, so a
        caller waits for the next round to start; every caller arriving meanwhile shares
        that round."""
        if not self.replicas:
            return
        if self._next is None:
            self._next = asyncio.ensure_future(self._round(self._current))
        # shielded: one caller cancelled (its client gone) does not cancel the others' round
        await asyncio.shield(self._next)
        if since is not None and self.epoch != since:
            log.error("a barrier ran on another primary than its caller wrote to")
            raise StoreUnavailable()

    async def _round(self, before: asyncio.Task[None] | None) -> None:
        try:
            if before is not None:
                await asyncio.wait([before])  # its failure is its callers'
                if not before.cancelled():
                    before.exception()  # seen, even if every caller of it was gone
        finally:  # cancelled or not, later callers start another round
            self._current, self._next = self._next, None
        await self.written(lambda connection: connection.incr(BARRIER_KEY), "a barrier")
