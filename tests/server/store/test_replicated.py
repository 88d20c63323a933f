"""The local replicated set (server/store/replicated.py), real processes: a write the
primary confirms with WAITAOF is on the replica's disk, and when the primary is killed the
Sentinels promote the replica, which holds it, and take writes."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from auction.errors import StoreUnavailable
from auction.lot.commit import created_fields
from auction.lot.config import LotConfig
from auction.lot.state import Secrets
from server.store.acks import Acks
from server.store.embedded import EmbeddedValkey, running_on
from server.store.errors import STORE_ERRORS
from server.store.keys import BARRIER_KEY, channel, lot_keys
from server.store.logs import published
from server.store.lots import LotBook
from server.store.replicated import MASTER, ReplicatedSet
from server.store.scripts import unpack
from server.store.sentinels import primary_of, sentinel_url
from tests.conftest import TIMEOUT, lot_config
from tests.server.helpers import failing_over


@contextlib.asynccontextmanager
async def primary_and_replica(folder: Path) -> AsyncIterator[tuple[Redis, Redis, EmbeddedValkey]]:
    """A primary and one replica (no Sentinels): a client of each, and the replica's node
    (to stop and resume); on leaving, the replica is let go on and the set stopped."""
    replicated = ReplicatedSet(folder, replicas=1, sentinels=0)
    await asyncio.to_thread(replicated.start)
    assert replicated.primary is not None
    (replica,) = replicated.copies
    try:
        async with (
            Redis.from_url(replicated.primary.url) as primary,
            Redis.from_url(replica.url) as copy,
        ):
            yield primary, copy, replica
    finally:
        if replica.process is not None:
            replica.process.send_signal(signal.SIGCONT)
        await asyncio.to_thread(replicated.stop)


async def test_a_confirmed_write_survives_the_primary_and_the_replica_takes_over(
    tmp_path: Path,
) -> None:
    replicated = ReplicatedSet(tmp_path / "set", replicas=1, sentinels=3)
    addresses = await asyncio.to_thread(replicated.start)
    try:
        sentinels = Sentinel(addresses, socket_timeout=1.0)  # type: ignore[no-untyped-call]
        primary = sentinels.master_for(MASTER, socket_timeout=2.0)
        await primary.set("ob:{t}:bid", "acknowledged")
        local, copies = await primary.execute_command("WAITAOF", 1, 1, 5000)
        assert (local, copies) == (1, 1)  # on the primary's disk and the replica's
        (replica,) = replicated.copies
        async with Redis.from_url(replica.url) as copy:
            assert await copy.get("ob:{t}:bid") == b"acknowledged"

        assert replicated.primary is not None and replicated.primary.process is not None
        async with failing_over(addresses) as promoted_to:
            replicated.primary.process.send_signal(signal.SIGKILL)
        assert "redis://{}:{}".format(*promoted_to) == replica.url
        promoted = sentinels.master_for(MASTER, socket_timeout=2.0)
        assert await promoted.get("ob:{t}:bid") == b"acknowledged"
        assert await promoted.set("ob:{t}:after", "taken")
    finally:
        await asyncio.to_thread(replicated.stop)


async def test_one_command_brings_the_set_up_and_sigterm_takes_it_down(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "server.cli", "store", "up", "--data-dir", str(tmp_path)]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        async with asyncio.timeout(TIMEOUT):
            said = (await process.stdout.readline()).decode().split()
        assert said[0] == "sentinels" and said[2:] == ["master", MASTER]
        host, port = said[1].split(",")[0].split(":")
        async with Redis(host=host, port=int(port)) as sentinel:
            primary: Any = await sentinel.sentinel_get_master_addr_by_name(MASTER)
            replicas = await sentinel.sentinel_slaves(MASTER)
        host = primary[0].decode() if isinstance(primary[0], bytes) else primary[0]
        async with Redis(host=host, port=int(primary[1])) as store:
            assert await store.ping()
        assert len(replicas) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(TIMEOUT):
            assert await process.wait() == 0
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == ["primary", "replica0", "sentinel0", "sentinel1", "sentinel2"]
    assert [running_on(tmp_path / name) for name in folders] == [None] * 5  # none left running


async def test_a_decision_stands_and_is_published_only_once_the_replica_wrote_it(
    tmp_path: Path,
) -> None:
    async with primary_and_replica(tmp_path / "set") as (primary, copy, replica):
        book = LotBook(primary, acks=Acks(primary, 1, timeout_ms=500))
        config = LotConfig.parse(lot_config(opens_at=10_000, free_ends_at=10_000))
        hidden = Secrets(reserve_salt="aa", lottery_seed="bb" * 16)
        await book.create("lot1", config, hidden, created_fields(config, hidden),
                          manual_clock=True, now=0)  # fmt: skip
        told = primary.pubsub()
        await told.subscribe(channel("lot1"))
        await told.get_message(timeout=TIMEOUT)  # the subscription's confirmation
        register = ("register", {"bidder_id": "b1", "plate": "101", "name": "甲",
                                 "token_hash": "t"})  # fmt: skip
        made = await book.decide("lot1", [register], now=100)
        assert made.answers[0]["accepted"]
        assert await copy.xlen(lot_keys("lot1")["log"]) == 2  # on the replica when told
        heard = await told.get_message(timeout=TIMEOUT)
        assert heard is not None and published(heard["data"])[1] == made.raw_entries

        assert replica.process is not None
        replica.process.send_signal(signal.SIGSTOP)  # the replica stops answering
        paid = ("deposit", {"bidder_id": "b1", "amount": 10_000_000, "kind": "cash",
                            "ref": "r1"})  # fmt: skip
        with pytest.raises(StoreUnavailable):
            await book.decide("lot1", [paid], now=200)
        await told.ping()  # a message published before this would come before its pong
        pong = await told.get_message(timeout=TIMEOUT)
        assert pong is not None and pong["type"] == "pong"  # nothing was published

        replica.process.send_signal(signal.SIGCONT)
        again = await book.decide("lot1", [paid], now=300)  # the bank resends
        assert (again.answers[0]["accepted"], again.answers[0]["total"]) == (True, 10_000_000)
        kinds = [unpack(e)["kind"] for e in await book.logs.log("lot1")]
        assert kinds.count("deposit") == 1  # decided once, before; now on the replica too
        assert await copy.xlen(lot_keys("lot1")["log"]) == len(kinds)
        await told.aclose()  # type: ignore[no-untyped-call]


async def test_callers_waiting_together_share_one_barrier_that_covers_every_earlier_write(
    tmp_path: Path,
) -> None:
    async with primary_and_replica(tmp_path / "set") as (primary, copy, replica):
        await Acks(primary).barrier()  # waiting for no replica writes nothing
        assert await primary.get(BARRIER_KEY) is None
        acks = Acks(primary, 1, timeout_ms=500)
        await primary.set("written", "before")  # another connection's write
        await asyncio.gather(*(acks.barrier() for _ in range(50)))
        assert await copy.get("written") == b"before"
        assert await primary.get(BARRIER_KEY) == b"1"  # one round for the fifty

        assert replica.process is not None
        replica.process.send_signal(signal.SIGSTOP)
        waits = await asyncio.gather(*(acks.barrier() for _ in range(3)),
                                     return_exceptions=True)  # fmt: skip
        assert all(isinstance(w, StoreUnavailable) for w in waits)
        replica.process.send_signal(signal.SIGCONT)
        await acks.barrier()  # the next round after a failed one
        assert await copy.get(BARRIER_KEY) == b"3"


async def test_a_barrier_on_the_promoted_replica_does_not_confirm_what_went_to_the_old_primary(
    tmp_path: Path,
) -> None:
    """A caller writes to the primary, which dies; the barrier it then waits for runs on the
    replica the Sentinels promoted, whose stream has none of the caller's writes: it must
    not confirm them. A caller that starts on the new primary is confirmed as before."""
    replicated = ReplicatedSet(tmp_path / "set", replicas=2, sentinels=3)
    addresses = await asyncio.to_thread(replicated.start)
    try:
        said = ",".join(f"{host}:{port}" for host, port in addresses)
        client = primary_of(sentinel_url(said, MASTER))
        acks = Acks(client, 1)
        await acks.barrier()  # the primary, known
        since = acks.epoch
        await client.set("ob:{t}:k", "written")  # the caller's write
        assert replicated.primary is not None and replicated.primary.process is not None
        async with failing_over(addresses):
            replicated.primary.process.send_signal(signal.SIGKILL)
        async with asyncio.timeout(TIMEOUT):
            while acks.epoch == since:  # until a round has run on the promoted replica
                with contextlib.suppress(StoreUnavailable, *STORE_ERRORS):
                    await acks.barrier()
        with pytest.raises(StoreUnavailable):  # rounds succeed there, but not for this caller
            await acks.barrier(since=since)
        await acks.barrier(since=acks.epoch)  # written on this one from now on: confirmed
        await client.aclose()
    finally:
        await asyncio.to_thread(replicated.stop)
