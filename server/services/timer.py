"""Moves lots at their deadlines when nobody bids, from every server process at once.

The bid book decides lazily: each script call first applies every deadline that has passed
by the server's TIME, so no bid is ever accepted after its deadline whatever this timer
does. The timer makes the move happen at the deadline without waiting for the next command.
Each process polls the due set; two ticks of the same lot are harmless (the second finds
nothing due), and a lot moves once. A deadline reached more than the lot's `late_grace_s`
late (every process was down, or the store stalled) suspends the lot instead of moving it:
see docs/bidbook.md, "Outages".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from auction.errors import StoreUnavailable
from server.services.openings import OpeningService
from server.store.errors import STORE_ERRORS
from server.store.lots import LotBook

__all__ = ["Timer"]

log = logging.getLogger("openbid.timer")
MAX_WAIT_S = 0.25  # how long another process's new deadline may wait to be seen
RETRY_MS = 5_000  # a lot that could not move at its deadline is tried again after this


class Timer:
    def __init__(
        self,
        book: LotBook,
        on_entries: Callable[[str], None],
        openings: OpeningService | None = None,
    ) -> None:
        self.book = book
        self.on_entries = on_entries
        self.openings = openings
        self.ticks = 0
        self.stopped = False

    def stop(self) -> None:
        """End `run` at its next turn (a cancellation alone has been seen swallowed inside a
        store call, and the shutdown then waited on the timer for good)."""
        self.stopped = True

    async def run(self) -> None:
        while not self.stopped:
            try:
                wait = await self.tick_due()
            except (StoreUnavailable, *STORE_ERRORS) as error:  # the store down, failing over
                log.warning("timer pass failed (%s); retrying", error)
                wait = MAX_WAIT_S
            except Exception:
                log.exception("timer pass failed; retrying")
                wait = MAX_WAIT_S
            await asyncio.sleep(wait)

    async def tick_due(self) -> float:
        """Tick every lot whose deadline has passed; return how long to sleep."""
        now = await self.book.logs.server_time()
        for lot_id in await self.book.due.due(now):
            reply = await self.book.command(lot_id, "tick")
            self.ticks += 1
            if reply.raw_entries:
                self.on_entries(lot_id)
                continue
            deadline = reply.state.get("deadline")  # the due set was stale: mend it
            if deadline is None:
                await self.book.due.track(lot_id, None)
            else:  # a deadline still passed: a sealed lot waiting to be opened; later again
                due = deadline if deadline > now else now + RETRY_MS
                await self.book.due.track(lot_id, due)
        upcoming = await self.book.due.next_due()
        if self.openings is not None:
            upcoming = _earliest(upcoming, await self._tick_openings(now))
        if upcoming is None:
            return MAX_WAIT_S
        return min(MAX_WAIT_S, max(0.002, (upcoming - now) / 1000))

    async def _tick_openings(self, now: int) -> int | None:
        """Tick every opening past its deadline; return the next opening deadline."""
        assert self.openings is not None
        book = self.openings.book
        for opening_id in await book.due.due(now):
            state = await self.openings.tick(opening_id)  # entries are chained and published
            self.ticks += 1
            await book.due.track(opening_id, state.deadline)  # mends a stale due set
        return await book.due.next_due()


def _earliest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)
