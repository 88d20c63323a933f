"""With `ack_replicas=1` every write is acknowledged only once a replica holds it, not only a
lot's decisions (issue 21): an opening's decision, a party registering itself, and the
transparency log's checkpoint, which is never signed over a tree the replica lacks (a
failover would grow another tree of that size under the same key: a fork). A real primary
and replica; the replica stops answering (SIGSTOP), then comes back."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from auction.errors import StoreUnavailable
from server.store.embedded import EmbeddedValkey
from server.store.keys import BARRIER_KEY, OPENING_DUE_KEY, PARTY_KEYS, channel, lot_keys
from server.store.replicated import ReplicatedSet
from tests.conftest import TIMEOUT, admin_client, serving
from tests.server.helpers import bearer, lot_in_limited, make_lot, qualified_bidder
from tests.server.services.test_openings import enrol, new_opening
from tests.server.services.test_parties import new_code
from tests.server.services.test_transparency import KEY


@contextlib.contextmanager
def stopped(node: EmbeddedValkey) -> Iterator[None]:
    assert node.process is not None
    node.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        node.process.send_signal(signal.SIGCONT)


def a_party() -> dict[str, Any]:
    return {"name": "丙建设有限公司", "credit_code": new_code(), "account": "6222021234567890",
            "contact": "李四 13900000000"}  # fmt: skip


async def checkpoint_size(admin: httpx.AsyncClient) -> int:
    size: int = KEY.checkpoint((await admin.get("/api/log/checkpoint")).text).size
    return size


async def test_no_write_is_acknowledged_that_the_replica_lacks(tmp_path: Path) -> None:
    replicated = ReplicatedSet(tmp_path / "set", replicas=1, sentinels=0)
    await asyncio.to_thread(replicated.start)
    assert replicated.primary is not None
    (replica,) = replicated.copies
    apps: list[Starlette] = []
    try:
        async with (
            serving(replicated.primary.url, ack_replicas=1, apps=apps) as base,
            admin_client(base) as admin,
            Redis.from_url(replicated.primary.url) as primary,
            Redis.from_url(replica.url) as copy,
        ):
            service = apps[0].state.resources.service
            transparency = service.transparency
            opening = await new_opening(admin, min_bidders=1)
            tenderer = await enrol(admin, opening, "甲")
            log = lot_keys(opening)["log"]  # an opening's keys are a lot's
            assert await copy.xlen(log) == await primary.xlen(log) > 0  # on the replica when told
            signed = await transparency.integrate()
            assert await checkpoint_size(admin) == signed

            told = primary.pubsub()
            await told.subscribe(channel(opening))
            await told.get_message(timeout=TIMEOUT)  # the subscription's confirmation
            with stopped(replica):
                joined = await admin.post(f"/api/openings/{opening}/bidders", json={"name": "乙"})
                assert joined.status_code == 503
                assert joined.json()["code"] == "STORE_UNAVAILABLE"
                party = await admin.post("/api/parties", json=a_party(),
                                         headers={"authorization": ""})  # fmt: skip
                assert party.status_code == 503  # written on the primary, but not answered
                account = f"/api/openings/{opening}/bidders/{tenderer['bidder_id']}/account"
                opened = await admin.get(account)  # a GET, but it opens the sub-account
                assert opened.status_code == 503  # not shown until the replica holds it
                now = (await admin.get("/api/health")).json()["server_now"]
                orphan = {
                    "title": "某道路工程",
                    "bid_deadline": now + 60_000,
                    "min_bidders": 1,
                    "decrypt_window_s": 60,
                }
                made = await admin.post("/api/openings", json=orphan)
                assert made.status_code == 503  # created, unconfirmed: its deadline still kept
                deadline = orphan["bid_deadline"]
                assert await primary.zcount(OPENING_DUE_KEY, deadline, deadline) == 1
                await service.chainer.catch_up(opening)  # 乙's entry chained, as a reader would
                with pytest.raises(StoreUnavailable):  # the tree grew; nothing signed over it
                    await transparency.integrate(opening)
                assert await checkpoint_size(admin) == signed
            await told.ping()  # a message published before this would come before its pong
            pong = await told.get_message(timeout=TIMEOUT)
            assert pong is not None and pong["type"] == "pong"  # the public heard nothing
            await told.aclose()  # type: ignore[no-untyped-call]

            party = await admin.post("/api/parties", json=a_party(),
                                     headers={"authorization": ""})  # fmt: skip
            assert party.status_code == 201, party.text
            people = PARTY_KEYS["people"]
            assert await copy.hexists(people, party.json()["party_id"])
            assert await copy.hlen(people) == await primary.hlen(people) == 2  # 503's too
            grown = await transparency.integrate()
            assert grown > signed and await checkpoint_size(admin) == grown

            lot, (bidder,) = await lot_in_limited(admin, "甲")  # a bid skips the barrier:
            bid = {"bid_id": "b1", "price": 34_380_000}  # its decision waited on its own
            sent = await admin.post(f"/api/lots/{lot}/bids", json=bid,
                                    headers=bearer(bidder["token"]))  # fmt: skip
            assert sent.status_code == 200, sent.text
            log = lot_keys(lot)["log"]
            assert await copy.xlen(log) == await primary.xlen(log)  # on the replica when told
    finally:
        for node in replicated.copies:
            if node.process is not None:
                node.process.send_signal(signal.SIGCONT)
        await asyncio.to_thread(replicated.stop)


async def test_a_bid_is_answered_on_its_decisions_own_wait(tmp_path: Path) -> None:
    """A bid's decision waits for the replica on its own connection, so its answer does
    not wait for a barrier round as well (no timer here: nothing else runs one)."""
    replicated = ReplicatedSet(tmp_path / "set", replicas=1, sentinels=0)
    await asyncio.to_thread(replicated.start)
    assert replicated.primary is not None
    (replica,) = replicated.copies
    try:
        async with (
            serving(replicated.primary.url, ack_replicas=1, timer=False) as base,
            admin_client(base) as admin,
            Redis.from_url(replicated.primary.url) as primary,
            Redis.from_url(replica.url) as copy,
        ):
            lot = await make_lot(admin)
            bidder = await qualified_bidder(admin, lot, "甲")
            rounds = await primary.get(BARRIER_KEY)
            assert rounds is not None  # the lot's creation and the deposit waited for one
            bid = {"bid_id": "b1", "price": 34_380_000}
            sent = await admin.post(f"/api/lots/{lot}/bids", json=bid,
                                    headers=bearer(bidder["token"]))  # fmt: skip
            assert sent.status_code == 200, sent.text
            assert await primary.get(BARRIER_KEY) == rounds
            log = lot_keys(lot)["log"]
            assert await copy.xlen(log) == await primary.xlen(log)  # on the replica when told
    finally:
        await asyncio.to_thread(replicated.stop)
