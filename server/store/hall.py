"""The public hall (交易大厅): today's lots and openings.

Each lot and opening is listed in a sorted set by when it starts (a lot's `opens_at`, an
opening's `bid_deadline`), written before the lot or opening itself so a listed id may be
missing (a crash between the two) but a created one is never unlisted. A day is a calendar
day in China Standard Time (UTC+8, no daylight saving). The hall shows what starts that day
and, from earlier days, what is still running: a 挂牌 listing runs for ten working days.
The two sets are the only keys outside a lot's hash tag; on a cluster each is one slot.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from auction.china import BEIJING
from server.store.keys import HALL_KEYS

__all__ = ["Hall", "day_bounds"]


LOOK_BACK = 200  # earlier entries read for what still runs; older than that is history


def day_bounds(day: dt.date) -> tuple[int, int]:
    """The day's first and one-past-last millisecond, China Standard Time."""
    start = dt.datetime.combine(day, dt.time(), BEIJING)
    return int(start.timestamp() * 1000), int((start + dt.timedelta(days=1)).timestamp() * 1000)


class Hall:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def add(self, kind: str, venue_id: str, starts_at: int) -> None:
        await self.client.zadd(HALL_KEYS[kind], {venue_id: starts_at})

    async def around(self, kind: str, start: int, end: int) -> tuple[list[str], list[str]]:
        """Ids starting in [start, end), oldest first, and the latest earlier ones (which
        the caller keeps if they still run)."""
        key = HALL_KEYS[kind]
        within = await self.client.zrangebyscore(key, start, f"({end}")
        earlier = await self.client.zrevrangebyscore(key, f"({start}", "-inf", 0, LOOK_BACK)
        return [i.decode() for i in within], [i.decode() for i in reversed(earlier)]
