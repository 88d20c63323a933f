"""OpenBid on a replicated store through its Sentinels, real processes. With
`ack_replicas=1` a bid is acknowledged only once a replica wrote it: when the primary is
SIGKILLed, or stops answering mid-stream, the Sentinels promote a replica, the server
follows it, bidding resumes (the other replica now copies the new primary, so one still
confirms), and every acknowledged bid is in the new primary's log. Without it, a bid is
acknowledged on the primary's disk alone: the window the option closes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from server.store.logs import Logs
from server.store.replicated import MASTER, ReplicatedSet
from server.store.scripts import unpack
from server.store.sentinels import sentinel_url
from tests.conftest import TIMEOUT, admin_client, serving
from tests.server.helpers import bearer, failing_over, lot_in_limited
from tests.server.wsclient import client

START, STEP = 34_380_000, 500_000  # lot_config's


async def bids_in(store: Redis, lot: str) -> list[str]:
    """The bid ids of the lot's log as `store` holds it."""
    entries = [unpack(raw) for raw in await Logs(store).log(lot)]
    return [e["bid_id"] for e in entries if e["kind"] == "bid"]


async def bid(admin: httpx.AsyncClient, lot: str, bidder: dict[str, Any], i: int) -> int:
    body = {"bid_id": f"b{i}", "price": START + i * STEP}
    answer = await admin.post(f"/api/lots/{lot}/bids", json=body, headers=bearer(bidder["token"]))
    return answer.status_code


async def test_acknowledged_bids_survive_the_primary_and_bidding_resumes(tmp_path: Path) -> None:
    replicated = ReplicatedSet(tmp_path / "set", replicas=2, sentinels=3)
    addresses = await asyncio.to_thread(replicated.start)
    said = ",".join(f"{host}:{port}" for host, port in addresses)
    try:
        async with (
            serving(sentinel_url(said, MASTER), ack_replicas=1) as base,
            admin_client(base) as admin,
            contextlib.AsyncExitStack() as stack,
        ):
            lot, (bidder,) = await lot_in_limited(admin, "甲")
            acknowledged: list[int] = []

            async def bid(i: int) -> int:
                body = {"bid_id": f"b{i}", "price": START + i * STEP}
                answer = await admin.post(f"/api/lots/{lot}/bids", json=body,
                                          headers=bearer(bidder["token"]))  # fmt: skip
                return answer.status_code

            viewer = await stack.enter_async_context(client(base, lot))  # the public watching
            await viewer.hello(since=0)
            for i in range(5):
                assert await bid(i) == 200
                acknowledged.append(i)
            held: set[str] = set()  # each acknowledged bid is on a replica's disk when told
            for copy in replicated.copies:
                async with Redis.from_url(copy.url) as store:
                    held |= set(await bids_in(store, lot))
            assert held == {f"b{i}" for i in acknowledged}

            assert replicated.primary is not None and replicated.primary.process is not None
            async with failing_over(addresses) as promoted:
                replicated.primary.process.send_signal(signal.SIGKILL)

            i = 5  # bidding resumes: a resent bid_id is answered as decided, or decided now
            async with asyncio.timeout(TIMEOUT):
                while await bid(i) != 200:
                    await asyncio.sleep(0.1)  # the server retries the store on its own clock
            acknowledged.append(i)
            async with Redis(host=promoted[0], port=int(promoted[1])) as store:
                bids = await bids_in(store, lot)
            assert bids == [f"b{i}" for i in acknowledged]  # every acknowledged bid, once
            last = START + acknowledged[-1] * STEP  # the public sees prices, not bid ids
            async with asyncio.timeout(TIMEOUT):
                seen = await viewer.until(lambda m: m.get("price") == last)
            shown = [m["price"] for m in seen if m.get("kind") == "bid"]
            assert shown == [START + i * STEP for i in acknowledged]  # none lost, none twice
    finally:
        await asyncio.to_thread(replicated.stop)


def on_disk(node: Path, needle: bytes) -> bool:
    """Whether `needle` is in the append-only files of the node whose data dir is `node`."""
    return any(needle in aof.read_bytes() for aof in (node / "appendonlydir").glob("*"))


async def test_without_ack_replicas_a_bid_is_acknowledged_on_one_disk_alone(
    tmp_path: Path,
) -> None:
    """The window `--ack-replicas` closes: while the replica lags (here, stopped), the
    primary acknowledges a bid that is on its disk alone; losing that machine now loses it."""
    replicated = ReplicatedSet(tmp_path / "set", replicas=1, sentinels=0)
    await asyncio.to_thread(replicated.start)
    (replica,) = replicated.copies
    assert replicated.primary is not None and replica.process is not None
    try:
        async with serving(replicated.primary.url) as base, admin_client(base) as admin:
            lot, (bidder,) = await lot_in_limited(admin, "甲")
            replica.process.send_signal(signal.SIGSTOP)
            assert await bid(admin, lot, bidder, 0) == 200  # acknowledged
            entry = b"\xa6bid_id\xa2b0"  # the entry's msgpack: the key "bid_id", then "b0"
            assert on_disk(replicated.primary.data_dir, entry)
            assert not on_disk(replica.data_dir, entry)  # on no replica's disk
    finally:
        replica.process.send_signal(signal.SIGCONT)
        await asyncio.to_thread(replicated.stop)


async def test_a_paused_primary_acknowledges_nothing_the_replicas_lack(tmp_path: Path) -> None:
    """A partition from the server's side: the primary stops answering mid-stream (SIGSTOP);
    the Sentinels promote a replica; the server follows; when the old primary comes back it
    is a replica. Every bid acknowledged, before and after, is in the new primary's log."""
    replicated = ReplicatedSet(tmp_path / "set", replicas=2, sentinels=3)
    addresses = await asyncio.to_thread(replicated.start)
    said = ",".join(f"{host}:{port}" for host, port in addresses)
    old = replicated.primary
    assert old is not None and old.process is not None
    try:
        async with (
            serving(sentinel_url(said, MASTER), ack_replicas=1) as base,
            admin_client(base) as admin,
        ):
            lot, (bidder,) = await lot_in_limited(admin, "甲")
            acknowledged: list[str] = []
            sent = 0

            async def stream(until: int) -> None:  # one bidder's stream of rising bids
                nonlocal sent
                while len(acknowledged) < until:
                    if await bid(admin, lot, bidder, sent) == 200:
                        acknowledged.append(f"b{sent}")
                        sent += 1
                    else:  # not acknowledged: the same bid_id again, as a client does
                        await asyncio.sleep(0.1)

            async with client(base, lot) as viewer:  # the public watching throughout
                await viewer.hello(since=0)
                await stream(3)
                async with failing_over(addresses) as promoted:
                    old.process.send_signal(signal.SIGSTOP)
                    streaming = asyncio.create_task(stream(6))
                async with asyncio.timeout(3 * TIMEOUT):
                    await streaming
                last = START + int(acknowledged[-1][1:]) * STEP  # the public sees prices
                async with asyncio.timeout(TIMEOUT):
                    seen = await viewer.until(lambda m: m.get("price") == last)
            old.process.send_signal(signal.SIGCONT)
            async with Redis(host=promoted[0], port=int(promoted[1])) as store:
                assert await bids_in(store, lot) == acknowledged  # each once, in order
            shown = [m["price"] for m in seen if m.get("kind") == "bid"]
            assert shown == [START + int(b[1:]) * STEP for b in acknowledged]  # none lost
    finally:
        old.process.send_signal(signal.SIGCONT)
        await asyncio.to_thread(replicated.stop)


async def test_a_deadline_passed_during_the_failover_suspends_the_lot(tmp_path: Path) -> None:
    """The 限时 countdown runs out while the primary is gone and the Sentinels have not yet
    promoted a replica (they wait `down_after_ms`, longer than the countdown and its grace):
    the new primary's first tick finds the deadline passed past the grace and suspends the
    lot by the outage rule, rather than selling it to whoever led; the public sees it."""
    replicated = ReplicatedSet(tmp_path / "set", replicas=2, sentinels=3, down_after_ms=4000)
    addresses = await asyncio.to_thread(replicated.start)
    said = ",".join(f"{host}:{port}" for host, port in addresses)
    assert replicated.primary is not None and replicated.primary.process is not None
    try:
        async with (
            serving(sentinel_url(said, MASTER), ack_replicas=1) as base,
            admin_client(base) as admin,
        ):
            lot, (leader,) = await lot_in_limited(admin, "甲", countdown_s=2, late_grace_s=1)
            async with client(base, lot) as viewer:
                await viewer.hello(since=0)
                assert await bid(admin, lot, leader, 0) == 200  # 2 s to go from here
                async with failing_over(addresses):
                    replicated.primary.process.send_signal(signal.SIGKILL)
                async with asyncio.timeout(TIMEOUT):
                    moved = await viewer.until(lambda m: m.get("kind") in ("suspended", "closed"))
            assert (moved[-1]["kind"], moved[-1]["by"], moved[-1]["phase"]) == (
                "suspended", "platform", "limited"
            )  # fmt: skip
            result = await admin.get(f"/api/lots/{lot}/result")
            assert result.status_code == 409  # nothing was decided
    finally:
        await asyncio.to_thread(replicated.stop)
