"""Bid book throughput and latency on one hot lot, beside the server's own ceiling.

    python loadtests/bench_bidbook.py [--seconds 3] [--runs 3] [--json out.json]

For each persistence setting (appendfsync always / everysec / no AOF) it starts a private
valkey-server and measures, in the same run:
- ceiling: EVALSHA of a trivial script (`return 1`), pipelined like the bids;
- bid book: real bids on one lot in 限时竞价 (every bid a full decision: phase, deadline
  from TIME, qualification, grid, idempotency, log append, publish) from 400 concurrent
  bidders through the server's batcher (concurrent bids share script calls);
- latency: bids offered open-loop at a fixed rate (default 5,000/s), each timed from its
  scheduled send to its answer; p50 and p99; beside it the same through the same batcher
  for the trivial EVALSHA (the round trip without the decision);
- server-side µs per call of each script from INFO commandstats.
Medians over --runs runs; ratios are against the ceiling of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from redis.asyncio import Redis

from auction.lot.commit import created_fields, new_secrets
from auction.lot.config import LotConfig
from server.store.batcher import Batcher
from server.store.embedded import EmbeddedValkey
from server.store.keys import lot_keys
from server.store.lots import LotBook
from server.web.app import connect

PIPELINE, WORKERS, BIDDERS, CLIENTS = 50, 8, 200, 400


async def lot_in_limited(book: LotBook, name: str) -> tuple[str, LotConfig]:
    opens = await book.logs.server_time() + 1_000  # registration closes as it opens (R3)
    config = LotConfig.parse({
        "title": "bench", "category": "land", "mode": "auction", "quote_unit": "元",
        "start_price": 10_000_000, "increment": 1, "deposit": 0,
        "opens_at": opens, "free_ends_at": opens, "countdown_s": 3600,
    })  # fmt: skip
    hidden = new_secrets()
    await book.create(name, config, hidden, created_fields(config, hidden))
    for i in range(BIDDERS):
        args = {"bidder_id": f"b{i}", "plate": str(1000 + i), "name": f"n{i}", "token_hash": f"{i}"}
        await book.command(name, "register", args)
    await asyncio.sleep(max(0, opens - await book.logs.server_time()) / 1000)
    return name, config


async def pipelined(client: Redis, calls: Any, seconds: float) -> float:
    """Run `calls(pipe, n)` batches from WORKERS tasks for `seconds`; return calls/s."""
    done, stop = 0, time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal done
        n = 0
        while time.perf_counter() < stop:
            pipe = client.pipeline(transaction=False)
            for _ in range(PIPELINE):
                calls(pipe, w, n)
                n += 1
            await pipe.execute()
            done += PIPELINE

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(WORKERS)))
    return done / (time.perf_counter() - start)


async def closed_loop(batcher: Batcher, lot: str, seconds: float, clients: int) -> float:
    """`clients` bidders, each sending its next bid as soon as the last is answered."""
    done, stop, price = 0, time.perf_counter() + seconds, {"p": 10_000_000}

    async def bidder(i: int) -> None:
        nonlocal done
        n = 0
        while time.perf_counter() < stop:
            price["p"] += 1
            args = {"bidder_id": f"b{i % BIDDERS}", "bid_id": f"{i}-{n}", "price": price["p"]}
            await batcher.submit(lot, "bid", args)
            done, n = done + 1, n + 1

    start = time.perf_counter()
    await asyncio.gather(*(bidder(i) for i in range(clients)))
    return done / (time.perf_counter() - start)


async def open_loop(
    call: Callable[[int], Awaitable[Any]], rate: int, seconds: float
) -> list[float]:
    """Offer `call(i)` `rate` times a second on schedule; latency counts from the scheduled
    send time, so a slow answer delays no later send (no coordinated omission)."""
    latencies: list[float] = []
    start, total = time.perf_counter(), int(rate * seconds)

    async def one(i: int) -> None:
        await call(i)
        latencies.append((time.perf_counter() - (start + i / rate)) * 1000)

    in_flight: set[asyncio.Task[None]] = set()  # only these: finished tasks are let go, so
    for i in range(total):  # the driver's own heap stays small and its GC pauses short
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(i))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    return latencies


@dataclass(frozen=True, slots=True)
class Trivial:
    """Stands where the bid book stands under the batcher and calls the trivial script
    instead of deciding: the same batched round trips, so the latency of the ceiling."""

    client: Redis
    sha: str

    async def decide(self, lot_id: str, commands: list[Any]) -> SimpleNamespace:
        await self.client.evalsha(self.sha, 0)
        return SimpleNamespace(answers=[{}] * len(commands), now=0, raw_entries=[])


def bids_on(batcher: Batcher, lot: str) -> Callable[[int], Awaitable[Any]]:
    def bid(i: int) -> Awaitable[Any]:
        args = {"bidder_id": f"b{i % BIDDERS}", "bid_id": f"ol-{i}", "price": 20_000_000 + i}
        return batcher.submit(lot, "bid", args)

    return bid


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def server_usec(client: Redis) -> dict[str, float]:
    stats = await client.info("commandstats")
    return {k: v["usec_per_call"] for k, v in stats.items() if k in ("cmdstat_evalsha",)}


async def one_run(fsync: str, seconds: float, rate: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedValkey(Path(tmp), fsync=fsync if fsync != "off" else "always")
        server.persist = fsync != "off"
        with server:
            client = await connect(server.url)
            assert isinstance(client, Redis)
            book = LotBook(client)
            trivial = await client.script_load("return 1")
            ceiling = await pipelined(client, lambda pipe, w, n: pipe.evalsha(trivial, 0), seconds)
            await client.config_resetstat()
            await pipelined(client, lambda pipe, w, n: pipe.evalsha(trivial, 0), 0.5)
            trivial_usec = (await server_usec(client)).get("cmdstat_evalsha", 0.0)
            lot, _ = await lot_in_limited(book, "hot")
            await client.config_resetstat()
            batcher = Batcher(book, lambda lot, reply: None)
            decisions = await closed_loop(batcher, lot, seconds, CLIENTS)
            usec = (await server_usec(client)).get("cmdstat_evalsha", 0.0)
            per_call = decisions * seconds / max(1, batcher.calls)
            lot2, _ = await lot_in_limited(book, "latency")
            lat = await open_loop(bids_on(batcher, lot2), rate, seconds)
            echo = Batcher(Trivial(client, trivial), lambda lot, reply: None)  # type: ignore[arg-type]
            base = await open_loop(bids_on(echo, "trivial"), rate, seconds)
            log_len = await client.xlen(lot_keys(lot)["log"])
            await client.aclose()
    return {
        "ceiling_per_s": ceiling,
        "decisions_per_s": decisions,
        "ratio": decisions / ceiling,
        "server_usec_per_call": usec,
        "bids_per_call": per_call,
        "server_usec_trivial": trivial_usec,
        "p50_ms": percentile(lat, 0.5),
        "p99_ms": percentile(lat, 0.99),
        "ceiling_p50_ms": percentile(base, 0.5),
        "ceiling_p99_ms": percentile(base, 0.99),
        "log_entries": log_len,
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--fsync", nargs="+", default=["always", "everysec", "off"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report: dict[str, dict[str, float]] = {}
    print(f"open loop at {args.rate}/s; medians of {args.runs} runs of {args.seconds}s")
    print(f"{'aof':<9} {'ceiling/s':>10} {'book/s':>9} {'ratio':>6} {'µs/call':>8} "
          f"{'bids/call':>9} {'trivial µs':>10} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'trivial p99':>11}")  # fmt: skip
    for fsync in args.fsync:
        runs = [await one_run(fsync, args.seconds, args.rate) for _ in range(args.runs)]
        m = report[fsync] = median_of(runs)
        print(f"{fsync:<9} {m['ceiling_per_s']:>10.0f} {m['decisions_per_s']:>9.0f} "
              f"{m['ratio']:>6.2f} {m['server_usec_per_call']:>8.1f} {m['bids_per_call']:>9.1f} "
              f"{m['server_usec_trivial']:>10.1f} "
              f"{m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f} {m['ceiling_p99_ms']:>11.2f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
