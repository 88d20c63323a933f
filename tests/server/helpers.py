"""Small steps the server tests share: make a lot, register and qualify bidders."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from server.store.keys import channel
from server.store.logs import published
from server.store.scripts import unpack
from tests.conftest import ADMIN, LOG_SIGNER, TIMEOUT, lot_config
from tests.server.wsclient import client


async def make_lot(admin: httpx.AsyncClient, **overrides: Any) -> str:
    now = (await admin.get("/api/health")).json()["server_now"]
    config = lot_config(opens_at=now, free_ends_at=now + 600_000) | overrides
    made = await admin.post("/api/lots", json=config)
    assert made.status_code == 201, made.text
    lot_id: str = made.json()["lot_id"]
    return lot_id


async def qualified_bidder(admin: httpx.AsyncClient, lot_id: str, name: str) -> dict[str, Any]:
    made = await admin.post(f"/api/lots/{lot_id}/bidders", json={"name": name})
    assert made.status_code == 201, made.text
    bidder: dict[str, Any] = made.json()
    paid = await admin.post(
        f"/api/lots/{lot_id}/bidders/{bidder['bidder_id']}/deposit",
        json={"amount": 10_000_000, "kind": "cash", "ref": f"bank-{bidder['bidder_id']}"},
    )
    assert paid.json()["qualified"] is True
    return bidder


OPENS_IN_MS = 1_500  # time enough to register and pay a few bidders on a loaded machine


async def lot_in_limited(
    admin: httpx.AsyncClient, *names: str, **overrides: Any
) -> tuple[str, list[dict[str, Any]]]:
    """A lot that goes straight into 限时 with `names` registered and paid. Registration
    closes as such a lot opens (R3), so it opens a moment after they are in; returns once
    it has."""
    now = (await admin.get("/api/health")).json()["server_now"]
    opens = now + (OPENS_IN_MS if names else 0)
    lot_id = await make_lot(admin, opens_at=opens, free_ends_at=opens, **overrides)
    bidders = [await qualified_bidder(admin, lot_id, name) for name in names]
    await phase_reached(str(admin.base_url), lot_id, "limited")
    return lot_id, bidders


async def phase_reached(url: str, lot_id: str, phase: str) -> None:
    """Wait for the lot's `phase` event, as a public viewer would see it."""
    async with client(url, lot_id) as viewer:
        await viewer.hello(since=0)
        await viewer.until(lambda m: m.get("kind") == "phase" and m.get("phase") == phase)


@asynccontextmanager
async def closing(redis: Redis, lot_id: str) -> AsyncIterator[None]:
    """Listen to the lot's channel from now; on leaving the block, wait for its `closed`
    entry (the timer's, at the deadline)."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel(lot_id))
    try:
        yield
        async with asyncio.timeout(TIMEOUT):
            async for message in pubsub.listen():
                if message["type"] == "message":
                    kinds = [unpack(raw)["kind"] for raw in published(message["data"])[1]]
                    if "closed" in kinds:
                        break
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


@asynccontextmanager
async def failing_over(addresses: list[tuple[str, int]]) -> AsyncIterator[list[str]]:
    """Listen to a Sentinel from now; on leaving the block, wait until it announces the new
    primary, whose host and port the yielded list then holds."""
    watcher = Redis(host=addresses[0][0], port=addresses[0][1])
    told = watcher.pubsub()
    await told.subscribe("+switch-master")
    promoted: list[str] = []
    try:
        yield promoted
        async with asyncio.timeout(TIMEOUT):
            async for message in told.listen():
                if message["type"] == "message":
                    promoted += message["data"].decode().split()[-2:]
                    break
    finally:
        await told.aclose()  # type: ignore[no-untyped-call]
        await watcher.aclose()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@asynccontextmanager
async def openbid_serve(
    data_dir: Path, *extra: str, log: Path | None = None, env: dict[str, str] | None = None
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """`openbid serve` as its own process, on a free port; yields its URL and process. With
    `log`, its stderr goes there and it runs in a session of its own, as in a terminal;
    `env` replaces the admin token's variable (give `{}` to have one made)."""
    command = [sys.executable, "-m", "server.cli", "serve", "--port", "0"]
    command += ["--data-dir", str(data_dir), *extra]
    with log.open("w") if log else contextlib.nullcontext() as stderr:  # the child keeps a copy
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            start_new_session=bool(log),
            env=os.environ
            | {"OPENBID_LOG_KEY": LOG_SIGNER.skey()}
            | ({"OPENBID_ADMIN_TOKEN": ADMIN} if env is None else env),
        )
    assert process.stdout is not None
    async with asyncio.timeout(TIMEOUT):
        while not (line := (await process.stdout.readline()).decode()).startswith(
            "openbid listening"
        ):
            assert line, "openbid serve exited before listening"
    url = re.search(r"https?://\S+", line)
    assert url is not None
    try:
        yield url.group(0), process
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
