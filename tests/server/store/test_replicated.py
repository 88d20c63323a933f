"""The local replicated set (server/store/replicated.py), real processes: a write the
primary confirms with WAITAOF is on the replica's disk, and when the primary is killed the
Sentinels promote the replica, which holds it, and take writes."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from server.store.embedded import running_on
from server.store.replicated import MASTER, ReplicatedSet
from tests.conftest import TIMEOUT


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

        watcher = Redis(host=addresses[0][0], port=addresses[0][1])
        told = watcher.pubsub()
        await told.subscribe("+switch-master")
        assert replicated.primary is not None and replicated.primary.process is not None
        replicated.primary.process.send_signal(signal.SIGKILL)
        async with asyncio.timeout(TIMEOUT):
            async for message in told.listen():
                if message["type"] == "message":
                    break
        name, _, _, host, port = message["data"].decode().split()
        assert (name, f"redis://{host}:{port}") == (MASTER, replica.url)
        await told.aclose()  # type: ignore[no-untyped-call]
        await watcher.aclose()
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
