"""A crowd of public viewers on several server processes, beside the bare `websockets` floor
and python-socketio on as many processes, in the same run on the same machine.

    python loadtests/bench_crowd.py [--viewers 20000] [--workers 2] [--generators 4]
        [--seconds 15] [--rate 2] [--runs 1] [--servers openbid floor socketio] [--json PATH]

Issue 18's headline. Per server and run, on a fresh store:
- the server: `openbid serve --workers W`, or W processes of a baseline (crowd_servers.py)
  on one listening socket the way OpenBid's workers share theirs; neither baseline fits
  20,000 viewers in one process, whose open files are capped by the hard limit;
- the viewers (picows, as in bench_fanout.py) arrive in `--generators` processes
  (crowd_viewers.py), each connecting a hundred at a time, until every one is welcomed;
- memory per idle viewer: the RSS of the server's processes with every viewer idle, minus
  before they came, over the viewers;
- then `--rate` bids a second for `--seconds`, each one public event, decided on the store;
- latency from each event's Redis `ts` to its receipt: p50 and p99 over every delivery of
  every generator; CPU per delivered message: the server's user+system time from the first
  bid until every viewer has the last (or `DRAIN_S` after it), over the deliveries;
  missing: the deliveries short of bids × viewers (every viewer should get every event);
- the longest pause of Python's cycle collector since the server started (the arrival
  included) of each process: OpenBid's `/metrics` of each worker (scraped until each has
  answered), the baselines' own gc callbacks (stock collection).
Before each server the machine's load is noted; while other processes keep its cores busy
the run waits (`--max-busy`, two minutes at most) and says so. The servers take turns
within each run; with `--runs` above 1 the table gives medians, and each baseline's number
over OpenBid's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.bench_fanout import (  # noqa: E402
    cpu_seconds,
    make_lot,
    pauses_by_worker,
    rss_bytes,
    start_server,
    tree,
)
from server.store.embedded import EmbeddedValkey  # noqa: E402
from server.store.lots import LotBook  # noqa: E402
from server.web.app import connect  # noqa: E402
from server.workers import listening_socket  # noqa: E402

__all__ = ["main"]

SERVERS = ("openbid", "floor", "socketio")
START_PRICE = 10_000_000  # make_lot's
ARRIVAL_S = 300.0  # every generator ready (each gives up connecting after 180 s)
DRAIN_S = 60.0  # after the last bid, for every viewer to have it
SETTLE_S = 2.0  # after the servers start, and after the viewers arrive
Result = dict[str, Any]


@dataclass
class Server:
    """The server under test: its processes (OpenBid's parent, or each baseline's)."""

    kind: str
    port: int
    processes: list[subprocess.Popen[bytes]]
    pause_files: list[Path]
    workers: int

    def serving(self) -> list[int]:
        """The processes that hold the viewers: OpenBid's workers, or the baselines'."""
        if self.kind == "openbid":
            return [pid for pid in tree(self.processes[0].pid)[1:] if sockets(pid)]
        return [p.pid for p in self.processes]

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.processes)

    def rss(self) -> int:
        return sum(rss_bytes(p.pid) for p in self.processes)

    async def pauses(self) -> list[float]:
        """Each process's longest collector pause, ms."""
        if self.kind == "openbid":
            found = await pauses_by_worker(self.port, self.workers)
            return [found[k] for k in sorted(found)]
        return [float(f.read_text() or 0) * 1000 for f in self.pause_files]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def sockets(pid: int) -> int:
    """The sockets `pid` holds open: its viewers, give or take the store's and the port."""
    try:
        return sum(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
                   for fd in os.listdir(f"/proc/{pid}/fd"))  # fmt: skip
    except OSError:
        return 0


def baseline(kind: str, fd: int, redis_url: str, pauses: Path,
             errors: Path) -> subprocess.Popen[bytes]:  # fmt: skip
    """One process of a baseline, serving the listening socket `fd`."""
    command = [sys.executable, str(ROOT / "loadtests" / "crowd_servers.py"), kind,
               "--fd", str(fd), "--redis-url", redis_url, "--pauses", str(pauses)]  # fmt: skip
    with errors.open("wb") as stderr:
        return subprocess.Popen(command, pass_fds=[fd], env=os.environ | {"PYTHONPATH": str(ROOT)},
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)  # fmt: skip


async def start(kind: str, redis_url: str, tmp: Path, workers: int) -> Server:
    if kind == "openbid":
        process, port = await start_server("openbid", redis_url, tmp, workers)
        return Server(kind, port, [process], [], workers)
    sock = listening_socket("127.0.0.1", 0)
    port, fd = sock.getsockname()[1], sock.fileno()
    pause_files = [tmp / f"pauses-{i}" for i in range(workers)]
    processes = [baseline(kind, fd, redis_url, path, tmp / f"{kind}-{i}.err")
                 for i, path in enumerate(pause_files)]  # fmt: skip
    sock.close()  # the children hold it
    server = Server(kind, port, processes, pause_files, workers)
    for _ in range(1500):  # each serves once it holds a socket besides the port: its store's
        if all(sockets(pid) >= 2 for pid in server.serving()):
            return server
        if any(p.poll() is not None for p in processes):
            break
        await asyncio.sleep(0.02)  # a starting process: no event to await
    server.stop()
    raise RuntimeError(f"{kind} did not start: {(tmp / f'{kind}-0.err').read_text()[-2000:]}")


class Generator:
    """One crowd_viewers.py process and its line."""

    def __init__(self, process: asyncio.subprocess.Process, out: Path) -> None:
        self.process, self.out = process, out

    async def said(self, key: str) -> Result:
        """The next line of the generator that has `key`."""
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            if key in (said := json.loads(line)):
                return said  # type: ignore[no-any-return]
        raise RuntimeError(f"a load generator exited before saying {key!r}")

    async def results(self) -> tuple[Result, array[float]]:
        assert self.process.stdin is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        summary = await self.said("delivered")
        await self.process.wait()
        latencies = array("d")
        latencies.frombytes(self.out.read_bytes())
        return summary, latencies


async def generators(kind: str, port: int, lot: str, args: argparse.Namespace, bids: int,
                     tmp: Path) -> list[Generator]:  # fmt: skip
    """Start `--generators` processes sharing the viewers out."""
    path = "socket.io/?EIO=4&transport=websocket" if kind == "socketio" else f"ws/lots/{lot}"
    spawned = []
    for i in range(args.generators):
        count = args.viewers // args.generators + (i < args.viewers % args.generators)
        out = tmp / f"latencies-{i}"
        with (tmp / f"gen-{i}.err").open("wb") as errors:
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "loadtests" / "crowd_viewers.py"), kind,
                "--url", f"ws://127.0.0.1:{port}/{path}", "--count", str(count),
                "--bids", str(bids), "--last-price", str(START_PRICE + bids), "--out", str(out),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
            )  # fmt: skip
        spawned.append(Generator(process, out))
    return spawned


async def bid(book: LotBook, lot: str, total: int, rate: float) -> None:
    """`total` bids at `rate` a second, each raising the price by one."""
    begin = time.perf_counter()
    for i in range(total):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        args = {"bidder_id": "b", "bid_id": str(i), "price": START_PRICE + 1 + i}
        await book.command(lot, "bid", args)


async def stop(crowd: list[Generator]) -> None:
    """End the generators still running (a failed run's)."""
    for g in crowd:
        if g.process.returncode is None:
            g.process.kill()
            await g.process.wait()


async def measure(server: Server, book: LotBook, lot: str, args: argparse.Namespace,
                  tmp: Path) -> Result:  # fmt: skip
    await asyncio.sleep(SETTLE_S)  # the server's imports and startup settle
    before, total, began = server.rss(), int(args.seconds * args.rate), time.perf_counter()
    crowd = await generators(server.kind, server.port, lot, args, total, tmp)
    try:
        ready = await asyncio.wait_for(asyncio.gather(*(g.said("ready") for g in crowd)), ARRIVAL_S)
        arrival, welcomed = time.perf_counter() - began, sum(r["ready"] for r in ready)
        await asyncio.sleep(SETTLE_S)  # the arrival's last writes and collections
        idle, split = server.rss() - before, [sockets(pid) for pid in server.serving()]
        cpu0 = server.cpu()
        load0 = sum(cpu_seconds(g.process.pid) for g in crowd)
        await bid(book, lot, total, args.rate)
        last_bid = time.perf_counter()
        with contextlib.suppress(TimeoutError):  # some viewers lack some events: counted below
            await asyncio.wait_for(asyncio.gather(*(g.said("done") for g in crowd)), DRAIN_S)
        drained, cpu = time.perf_counter() - last_bid, server.cpu() - cpu0
        load = sum(cpu_seconds(g.process.pid) for g in crowd) - load0
        gathered = [await g.results() for g in crowd]
        lat = sorted(x for _, each in gathered for x in each)
        delivered = sum(s["delivered"] for s, _ in gathered)
        pauses = await server.pauses()
        return {
            "viewers": args.viewers, "welcomed": welcomed,
            "failed": sum(r["failed"] for r in ready), "arrival_s": arrival,
            "kib_per_idle_viewer": idle / max(1, welcomed) / 1024, "sockets_per_process": split,
            "bids": total, "expected": total * args.viewers, "delivered": delivered,
            "missing": total * args.viewers - delivered,
            "missing_of_welcomed": total * welcomed - delivered,  # the server's drops alone
            "complete_viewers": sum(s["complete"] for s, _ in gathered),
            "closed_viewers": sum(s["closed"] for s, _ in gathered),
            "close_codes": sum((Counter(s["close_codes"]) for s, _ in gathered), Counter()),
            "p50_ms": lat[len(lat) // 2] if lat else float("nan"),
            "p99_ms": lat[int(len(lat) * 0.99)] if lat else float("nan"),
            "max_ms": lat[-1] if lat else float("nan"),
            "us_per_message": cpu / max(1, delivered) * 1e6, "server_cpu_s": cpu,
            "generators_cpu_s": load, "drain_s": drained,
            "gc_longest_ms": max(pauses, default=float("nan")), "gc_longest_each_ms": pauses,
        }  # fmt: skip
    finally:
        await stop(crowd)


def busy(seconds: float = 3.0) -> float:
    """The share of the machine's CPU time that was busy over the next `seconds`."""

    def sample() -> tuple[int, int]:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(ticks) - ticks[3] - ticks[4], sum(ticks)  # idle and iowait are not busy

    (b0, t0), _, (b1, t1) = sample(), time.sleep(seconds), sample()
    return (b1 - b0) / max(1, t1 - t0)


async def quiet(max_busy: float) -> Result:
    """Note the machine's load; wait (two minutes at most) while others keep it busy
    (`max_busy` of 1 or more: never, and no 3 s measuring either, as a quick run wants)."""
    waited, started = 0.0, time.perf_counter()
    share = await asyncio.to_thread(busy) if max_busy < 1 else float("nan")
    while share > max_busy and waited < 120:
        print(f"  the machine is {share:.0%} busy: waiting", file=sys.stderr, flush=True)
        await asyncio.sleep(15)
        share = await asyncio.to_thread(busy)
        waited = time.perf_counter() - started
    return {"loadavg": Path("/proc/loadavg").read_text().split()[:3], "busy_before": share,
            "waited_s": waited}  # fmt: skip


async def one(kind: str, args: argparse.Namespace) -> Result:
    """One server, one run: a fresh store, the crowd, the bids."""
    with tempfile.TemporaryDirectory() as tmp, EmbeddedValkey(Path(tmp) / "v", persist=False) as v:
        machine = await quiet(args.max_busy)
        client = await connect(v.url)
        book = LotBook(client)  # type: ignore[arg-type]
        lot = await make_lot(book)
        server = await start(kind, v.url, Path(tmp), args.workers)
        try:
            return machine | await measure(server, book, lot, args, Path(tmp))
        finally:
            server.stop()
            await client.aclose()


COLUMNS = (("p50_ms", "p50 ms", ".1f"), ("p99_ms", "p99 ms", ".1f"),
           ("us_per_message", "µs/msg", ".2f"), ("kib_per_idle_viewer", "KiB/viewer", ".1f"),
           ("gc_longest_ms", "longest GC ms", ".0f"), ("missing", "missing", ".0f"))  # fmt: skip


def line(name: str, r: Result) -> str:
    return f"{name:<17}" + "".join(f"{r[k]:>{len(h) + 2}{f}}" for k, h, f in COLUMNS)


def header() -> str:
    return f"{'':<17}" + "".join(f"{h:>{len(h) + 2}}" for _, h, _ in COLUMNS)


def summary(results: dict[str, list[Result]]) -> str:
    """The medians of every server, then each baseline's medians over OpenBid's."""
    medians = {kind: {k: statistics.median(r[k] for r in runs) for k, _, _ in COLUMNS}
               for kind, runs in results.items() if runs}  # fmt: skip
    rows = [header(), *(line(kind, m) for kind, m in medians.items())]
    ours = medians.get("openbid")
    for kind, m in medians.items():
        if ours is not None and kind != "openbid":
            ratio = {k: m[k] / ours[k] if ours[k] else float("nan") for k, _, _ in COLUMNS}
            rows.append(line(f"{kind}÷openbid", ratio).replace("nan", "  —"))
    return "\n".join(rows)


async def bench(args: argparse.Namespace) -> dict[str, list[Result]]:
    results: dict[str, list[Result]] = {kind: [] for kind in args.servers}
    print(f"{args.viewers:,} viewers on {args.workers} processes each, from {args.generators} "
          f"load generators; {args.rate:g} bids/s for {args.seconds:g} s\n{header()}",
          flush=True)  # fmt: skip
    for run in range(args.runs):
        turn = run % len(args.servers)
        for kind in args.servers[turn:] + args.servers[:turn]:
            try:
                r = await one(kind, args)
            except Exception as error:  # the other servers still run
                print(f"{kind:<17} run {run + 1} failed: {error!r}", flush=True)
                continue
            results[kind].append(r)
            if args.json:
                args.json.write_text(json.dumps(results, indent=2))
            print(f"{line(kind, r)}  run {run + 1}: load {' '.join(r['loadavg'])}, busy "
                  f"{r['busy_before']:.0%} before (waited {r['waited_s']:.0f} s); "
                  f"{r['welcomed']:,} welcomed ({r['failed']} failed) in {r['arrival_s']:.0f} s, "
                  f"sockets "
                  f"{r['sockets_per_process']}; {r['complete_viewers']:,} complete, closed "
                  f"{dict(r['close_codes'])}; GC ms "
                  f"{[round(p) for p in r['gc_longest_each_ms']]}; generators "
                  f"{r['generators_cpu_s']:.1f} s CPU, server {r['server_cpu_s']:.1f} s",
                  flush=True)  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="processes of each server")
    parser.add_argument("--generators", type=int, default=4, help="load generator processes")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=2.0, help="bids a second")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    parser.add_argument("--max-busy", type=float, default=0.25, help="of the machine's CPU")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(bench(args))
    print(f"\nmedians over {args.runs} run(s):\n{summary(results)}")


if __name__ == "__main__":
    main()
