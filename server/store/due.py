"""A due set: which lots (or openings) must move by when. Any process's timer reads it; a
stale member (its deadline moved) is mended by whoever finds it."""

from __future__ import annotations

from typing import Any

__all__ = ["DueSet"]


class DueSet:
    def __init__(self, client: Any, key: str) -> None:
        self.client, self.key = client, key

    async def track(self, member: str, deadline: int | None) -> None:
        """`member` is due at `deadline`; with none, not due at all."""
        if deadline is None:
            await self.client.zrem(self.key, member)
        else:
            await self.client.zadd(self.key, {member: deadline})

    async def no_later(self, member: str, deadline: int | None) -> None:
        """`member` is due at `deadline` at the latest: an earlier due time stays (a stale,
        early one costs the timer one idle tick, which mends it)."""
        if deadline is not None:
            await self.client.zadd(self.key, {member: deadline}, lt=True)

    async def due(self, until: int, count: int = 100) -> list[str]:
        found = await self.client.zrangebyscore(self.key, "-inf", until, start=0, num=count)
        return [member.decode() for member in found]

    async def next_due(self) -> int | None:
        first = await self.client.zrange(self.key, 0, 0, withscores=True)
        return int(first[0][1]) if first else None
