"""Bursts: the server's CPU per delivered message when many events land at once, beside a
bare `websockets` relay (the floor), in the same run on the same machine.

    python loadtests/bench_burst.py [--viewers 2000] [--burst 10] [--rounds 20] [--rate 2]
        [--runs 3] [--openbid PATH] [--before PATH]

A 限时 sniping burst decides many bids in one batch: each round here decides `--burst` bids
in one `LotBook.decide`, which publishes them as one pub/sub message, `--rate` rounds a
second. Each viewer (a picows client, as in bench_fanout.py) counts the public bid events it
gets. Per server and run: the server's user+system CPU from the first round until every
viewer has the last bid, over the deliveries (µs per message), and the latency from each
event's Redis time to its receipt (p50, p99). Reported are the medians over `--runs`, the
servers taking turns within each run:
- `openbid`: `openbid serve` from this tree, or from the checkout at `--openbid`;
- `before`: the same from the checkout at `--before` (e.g. `git archive HEAD | tar -x -C
  /tmp/ob-before` before a change), to measure a change in the same run;
- `floor`: the least a Python server can do, the `websockets` library's own asyncio server
  relaying each public entry of the same channel with `broadcast()` (one encoding per
  entry, no audiences, no resume, no limits): run by this file with `--floor-server`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgpack  # noqa: E402

from loadtests.bench_fanout import (  # noqa: E402
    ADMIN,
    OpenBidViewer,
    Tally,
    connect_viewers,
    cpu_seconds,
    make_lot,
    open_files_for,
)
from server.store.embedded import EmbeddedValkey, free_port  # noqa: E402
from server.store.lots import LotBook  # noqa: E402
from server.web.app import connect  # noqa: E402

START_PRICE = 10_000_000  # make_lot's


def server_command(kind: str, port: int, redis_url: str, tmp: Path,
                   trees: dict[str, Path]) -> tuple[list[str], Path]:  # fmt: skip
    """The command line of server `kind` and the tree it runs from."""
    if kind == "floor":
        return [sys.executable, str(Path(__file__).resolve()), "--floor-server",
                "--redis-url", redis_url, "--port", str(port)], ROOT  # fmt: skip
    tree = trees[kind]
    return [sys.executable, "-m", "server.cli", "serve", "--port", str(port),
            "--redis-url", redis_url, "--data-dir", str(tmp / "data"),
            "--viewers-per-address", "0"], tree  # fmt: skip


async def start(kind: str, redis_url: str, tmp: Path, trees: dict[str, Path]) -> tuple[
    subprocess.Popen[bytes], int]:  # fmt: skip
    port = free_port()
    command, tree = server_command(kind, port, redis_url, tmp, trees)
    env = os.environ | {"OPENBID_ADMIN_TOKEN": ADMIN, "PYTHONPATH": str(tree)}
    process = subprocess.Popen(command, env=env, cwd=tree, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    for _ in range(500):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return process, port
        except OSError:
            await asyncio.sleep(0.02)  # a starting process: no event to await
    raise RuntimeError(f"{kind} server did not start")


async def one(kind: str, args: argparse.Namespace) -> dict[str, float]:
    """One server, one run: a fresh store, the viewers, the rounds."""
    with tempfile.TemporaryDirectory() as tmp, EmbeddedValkey(Path(tmp) / "v", persist=False) as v:
        client = await connect(v.url)
        book = LotBook(client)
        lot = await make_lot(book)
        trees = {"openbid": args.openbid, "before": args.before}
        process, port = await start(kind, v.url, Path(tmp), trees)
        try:
            return await measure(book, lot, process.pid, port, args)
        finally:
            process.terminate()
            process.wait()
            await client.aclose()


async def watch(port: int, lot: str, viewers: int, tally: Tally) -> list[Any]:
    url = f"ws://127.0.0.1:{port}/ws/lots/{lot}"
    transports = await connect_viewers(url, lambda: OpenBidViewer(tally), tally, viewers)
    if tally.ready < viewers:
        raise RuntimeError(f"only {tally.ready} of {viewers} viewers were welcomed")
    return transports


async def measure(book: LotBook, lot: str, pid: int, port: int,
                  args: argparse.Namespace) -> dict[str, float]:  # fmt: skip
    tally = Tally()
    transports = await watch(port, lot, args.viewers, tally)
    await asyncio.sleep(1.0)  # let the arrivals' work (and collections) settle
    total = args.rounds * args.burst
    tally.last_price = START_PRICE + total
    cpu0, begin = cpu_seconds(pid), time.perf_counter()
    for round_ in range(args.rounds):
        delay = begin + round_ / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        price = START_PRICE + round_ * args.burst
        bids = [("bid", {"bidder_id": "b", "bid_id": f"{round_}-{i}", "price": price + i + 1})
                for i in range(args.burst)]  # fmt: skip
        decided = await book.decide(lot, bids)
        assert all(a["accepted"] for a in decided.answers), decided.answers
    deadline = time.perf_counter() + 120
    while tally.done < args.viewers and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)  # deliveries arrive on the listeners' callbacks
    cpu = cpu_seconds(pid) - cpu0
    for transport in transports:
        transport.disconnect()
    lat = sorted(tally.latencies)
    return {"us_per_message": cpu / max(1, tally.delivered) * 1e6,
            "p50_ms": lat[len(lat) // 2], "p99_ms": lat[int(len(lat) * 0.99)],
            "delivered": tally.delivered, "expected": total * args.viewers}  # fmt: skip


def floor_server(redis_url: str, **listen: Any) -> None:
    """The floor: websockets' own server, a welcome for each hello, then every public entry
    of every lot broadcast to everyone, encoded once; `listen`: `port`, or a bound `sock`
    (bench_crowd.py's processes sharing one)."""
    from redis.asyncio import Redis
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    from auction.audience import public_event
    from server.store.logs import published
    from server.store.scripts import unpack

    viewers: set[ServerConnection] = set()

    async def viewer(ws: ServerConnection) -> None:
        await ws.recv()  # the hello
        await ws.send(msgpack.packb({"type": "welcome"}))
        viewers.add(ws)
        try:
            await ws.wait_closed()
        finally:
            viewers.discard(ws)

    async def relay() -> None:
        pubsub = Redis.from_url(redis_url).pubsub()
        await pubsub.psubscribe("ob:{*}:ev")
        async for message in pubsub.listen():
            if message["type"] == "pmessage":
                now, raws = published(message["data"])
                for raw in raws:
                    view = public_event(unpack(raw))
                    if view is not None:
                        event = {"type": "event", **view, "server_now": now}
                        broadcast(viewers, msgpack.packb(event))

    async def main() -> None:
        where = {"host": "127.0.0.1"} if "sock" not in listen else {}
        async with serve(viewer, **where, **listen, compression=None, subprotocols=None):
            await relay()

    asyncio.run(main())


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


async def bench(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    open_files_for(args.viewers)
    servers = args.servers + (["before"] if args.before else [])
    results: dict[str, list[dict[str, float]]] = {kind: [] for kind in servers}
    for run in range(args.runs):
        for kind in servers[run % len(servers) :] + servers[: run % len(servers)]:  # turns
            r = await one(kind, args)
            results[kind].append(r)
            print(f"run {run + 1} {kind:<8} {r['us_per_message']:7.2f} µs/msg  p50 "
                  f"{r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  "
                  f"{r['delivered']:.0f}/{r['expected']:.0f}", flush=True)  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=10, help="bids decided in one batch")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="rounds a second")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--servers", nargs="+", default=["openbid", "floor"])
    parser.add_argument("--openbid", type=Path, default=ROOT, help="the tree of `openbid`")
    parser.add_argument("--before", type=Path, help="a checkout to run as server `before`")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--floor-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_server:
        return floor_server(args.redis_url, port=args.port)
    results = asyncio.run(bench(args))
    print(f"\nmedians over {args.runs} runs, {args.viewers} viewers, bursts of {args.burst}:")
    for kind, runs in results.items():
        print(
            f"{kind:<8} {median(runs, 'us_per_message'):7.2f} µs/msg  p50 "
            f"{median(runs, 'p50_ms'):6.1f} ms  p99 {median(runs, 'p99_ms'):6.1f} ms"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
