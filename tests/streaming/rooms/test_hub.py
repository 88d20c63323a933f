"""The hub's subscriptions: rooms opened at the same moment on a fresh process (a restart
with many clients reconnecting) all become ready, on one pub/sub connection."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from redis.asyncio import Redis

from server.metrics import Metrics
from server.store.keys import channel
from server.store.logs import Logs
from streaming.rooms.hub import Hub, Member
from tests.conftest import TIMEOUT


class Viewer:
    """A member that only counts what it is handed."""

    role, plate, bidder_id, session, codec = "public", None, None, "s", None

    def __init__(self) -> None:
        self.delivered: list[int] = []
        self.notices: list[dict[str, Any]] = []

    def deliver(self, seq: int, payload: Any, wire: bytes) -> None:
        self.delivered.append(seq)

    def replaced(self) -> None:
        raise AssertionError("a viewer is never replaced")

    def notify(self, payload: dict[str, Any]) -> None:
        self.notices.append(payload)


async def test_rooms_joined_at_once_on_a_fresh_hub_all_become_ready(
    redis: Redis, valkey_url: str
) -> None:
    subscriber = Redis.from_url(valkey_url)  # its own pool: the pub/sub must connect first
    hub = Hub(subscriber, Logs(redis), Metrics())
    lots = [f"race-{n}" for n in range(5)]
    try:
        async with asyncio.timeout(TIMEOUT):  # before the fix: never, from the first pair
            await asyncio.gather(*(hub.join(lot, cast(Member, Viewer())) for lot in lots))
        counts = dict(await redis.pubsub_numsub(*(channel(lot) for lot in lots)))
        assert set(counts.values()) == {1}  # each channel subscribed, once
    finally:
        await hub.close()
        await subscriber.aclose()
