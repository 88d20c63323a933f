"""OpenBid on a replicated store through its Sentinels, with `ack_replicas=1`, real
processes: a bid is acknowledged only once a replica wrote it; the primary is SIGKILLed;
the Sentinels promote a replica; the server follows it, bidding resumes (the other replica
now copies the new primary, so one replica still confirms), and every acknowledged bid is
in the new primary's log."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from redis.asyncio import Redis

from server.store.logs import Logs
from server.store.replicated import MASTER, ReplicatedSet
from server.store.scripts import unpack
from server.store.sentinels import sentinel_url
from tests.conftest import TIMEOUT, admin_client, serving
from tests.server.helpers import bearer, lot_in_limited

START, STEP = 34_380_000, 500_000  # lot_config's


async def bids_in(store: Redis, lot: str) -> list[str]:
    """The bid ids of the lot's log as `store` holds it."""
    entries = [unpack(raw) for raw in await Logs(store).log(lot)]
    return [e["bid_id"] for e in entries if e["kind"] == "bid"]


async def test_acknowledged_bids_survive_the_primary_and_bidding_resumes(tmp_path: Path) -> None:
    replicated = ReplicatedSet(tmp_path / "set", replicas=2, sentinels=3)
    addresses = await asyncio.to_thread(replicated.start)
    said = ",".join(f"{host}:{port}" for host, port in addresses)
    try:
        async with (
            serving(sentinel_url(said, MASTER), ack_replicas=1) as base,
            admin_client(base) as admin,
        ):
            lot, (bidder,) = await lot_in_limited(admin, "甲")
            acknowledged: list[int] = []

            async def bid(i: int) -> int:
                body = {"bid_id": f"b{i}", "price": START + i * STEP}
                answer = await admin.post(f"/api/lots/{lot}/bids", json=body,
                                          headers=bearer(bidder["token"]))  # fmt: skip
                return answer.status_code

            for i in range(5):
                assert await bid(i) == 200
                acknowledged.append(i)
            held: set[str] = set()  # each acknowledged bid is on a replica's disk when told
            for copy in replicated.copies:
                async with Redis.from_url(copy.url) as store:
                    held |= set(await bids_in(store, lot))
            assert held == {f"b{i}" for i in acknowledged}

            watcher = Redis(host=addresses[0][0], port=addresses[0][1])
            told = watcher.pubsub()
            await told.subscribe("+switch-master")
            assert replicated.primary is not None and replicated.primary.process is not None
            replicated.primary.process.send_signal(signal.SIGKILL)
            async with asyncio.timeout(TIMEOUT):
                async for message in told.listen():
                    if message["type"] == "message":
                        break
            *_, host, port = message["data"].decode().split()  # the promoted replica
            await told.aclose()  # type: ignore[no-untyped-call]
            await watcher.aclose()

            i = 5  # bidding resumes: a resent bid_id is answered as decided, or decided now
            async with asyncio.timeout(TIMEOUT):
                while await bid(i) != 200:
                    await asyncio.sleep(0.1)  # the server retries the store on its own clock
            acknowledged.append(i)
            async with Redis(host=host, port=int(port)) as promoted:
                bids = await bids_in(promoted, lot)
            assert bids == [f"b{i}" for i in acknowledged]  # every acknowledged bid, once
    finally:
        await asyncio.to_thread(replicated.stop)
