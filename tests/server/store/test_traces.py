"""The trace writer: traces kept in one loop turn go to the store in one pipeline, after
the turn, each venue's under its own hash tag; a store out of reach loses them, counted,
and fails nothing."""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

from server.store.keys import traces_key
from server.store.traces import Traces


async def test_one_turns_traces_go_in_one_pipeline(redis: Redis) -> None:
    writer = Traces(redis)
    lots = [secrets.token_hex(5) for _ in range(3)]
    for i in range(60):
        writer.keep(lots[i % 3], f"b{i}", "bid", address="10.0.0.1", device=None)
    assert writer.pipelines == 0  # nothing written within the turn: the answers go first
    await writer.written()
    assert writer.pipelines == 1
    for n, lot in enumerate(lots):
        kept = await writer.read(lot)
        assert [t.bidder for t in kept] == [f"b{i}" for i in range(n, 60, 3)]
        assert {(t.action, t.address, t.device, t.payer) for t in kept} == {
            ("bid", "10.0.0.1", None, None)
        }
        assert all(t.ts > 0 for t in kept)
    assert await redis.type(traces_key(lots[0])) == b"stream"


async def test_traces_kept_while_a_pipeline_is_out_go_in_the_next(redis: Redis) -> None:
    writer = Traces(redis)
    lot = secrets.token_hex(5)
    writer.keep(lot, "b1", "bid", address="10.0.0.1")
    await writer.written()
    writer.keep(lot, "b2", "deposit", payer="acct-1")
    writer.keep(lot, "b3", "envelope", device="dev-1")
    await writer.written()
    assert writer.pipelines == 2
    kept = await writer.read(lot)
    assert [(t.bidder, t.payer, t.device) for t in kept] == [
        ("b1", None, None), ("b2", "acct-1", None), ("b3", None, "dev-1"),
    ]  # fmt: skip


async def test_a_store_out_of_reach_loses_the_traces_and_fails_nothing() -> None:
    gone = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    writer = Traces(gone)
    writer.keep("abc", "b1", "bid", address="10.0.0.1")
    await writer.written()
    assert (writer.pipelines, writer.lost) == (0, 1)
    await gone.aclose()
