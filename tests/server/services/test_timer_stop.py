"""The timer ends at shutdown even when a cancellation is swallowed inside a store call (it
was seen: the shutdown then waited on the timer for good and the server never stopped)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from server.services.timer import Timer
from server.store.lots import LotBook


class Swallowing(Timer):
    """A timer whose pass swallows the cancellation, as a store call has been seen to."""

    async def tick_due(self) -> float:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return 0.001
        return 0.001


async def test_a_stopped_timer_ends_whatever_its_pass_swallows(redis: Redis) -> None:
    timer = Swallowing(LotBook(redis), lambda lot: None)
    task = asyncio.create_task(timer.run())
    await asyncio.sleep(0)  # into its first pass
    timer.stop()
    task.cancel()
    await asyncio.wait_for(asyncio.shield(task), 2)  # it ends; without stop() it runs on
    assert task.done()
