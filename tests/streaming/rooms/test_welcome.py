"""A crowd arriving: its hellos read the store a few at a time (`WELCOMING`), in line, not
all at once. Thousands at once queued on the store's connection pool, whose wait is
bounded: a viewer that waited past it was closed 1013 unwelcomed (`STORE_UNAVAILABLE`),
and the timer and the bidders waited behind the crowd."""

from __future__ import annotations

from typing import Any

from server.limits import Limits
from streaming.rooms.connection import WELCOMING
from tests.conftest import admin_client, serving
from tests.server.helpers import make_lot
from tests.streaming.rooms.viewers import viewers

CROWD = 300
PER_ADDRESS = Limits(public_per_address=CROWD, pending_per_address=CROWD)


async def test_a_crowd_of_hellos_reads_the_store_a_few_at_a_time(valkey_url: str) -> None:
    apps: list[Any] = []
    async with serving(valkey_url, PER_ADDRESS, apps=apps) as base, admin_client(base) as admin:
        url = base.replace("http://", "ws://") + f"/ws/lots/{await make_lot(admin)}"
        venue = apps[0].state.resources.lot_venue
        snapshot, inside, most = venue.snapshot, [0], [0]

        async def counted(*args: Any) -> Any:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            try:
                return await snapshot(*args)
            finally:
                inside[0] -= 1

        venue.snapshot = counted
        async with viewers(url, CROWD):
            pass
    assert most[0] <= WELCOMING, f"{most[0]} hellos in the store at once"
