"""Fan-out to N public viewers on one server process, beside python-socketio.

    python loadtests/bench_fanout.py [--viewers 1000 5000] [--seconds 10] [--rate 10]
                                     [--workers 1]

For each N and each server (OpenBid's `/ws/lots/{lot}` in msgpack, and the python-socketio
relay in socketio_baseline.py, both on uvicorn, both fed by the same Redis channel), in the
same run on the same machine (load generator included):
- latency from each event's server `ts` (Redis TIME at the decision) to its receipt at each
  viewer: p50 and p99 over every delivery;
- the server's CPU per delivered message: its user+system time over the bidding, divided
  by the deliveries;
- memory per idle connection: the server's RSS with N idle viewers, minus before, over N;
- OpenBid's longest pause of Python's cycle collector (from `/metrics`): while N viewers
  arrive the heap grows and each full collection stops the process longer.
Bids are decided straight on the bid book at `--rate` per second (each one public event).
With `--workers W` OpenBid runs as `openbid serve --workers W`: its CPU and memory are the
sum over the parent and its workers, and its longest pause the longest of any worker.
Viewers are picows clients (a Cython WebSocket client: the load generator must not be the
bottleneck); the socket.io viewers speak Engine.IO 4 over a WebSocket.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgpack
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect
from prometheus_client.parser import text_string_to_metric_families

from auction.lot.commit import created_fields, new_secrets
from auction.lot.config import LotConfig
from server.store.embedded import EmbeddedValkey, free_port
from server.store.lots import LotBook
from server.web.app import connect

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "bench-admin-token"
CONNECT_AT_ONCE = 100
MSGPACK = {"Sec-WebSocket-Protocol": "openbid.msgpack.v1"}


@dataclass
class Tally:
    last_price: int = 0  # the price of the final bid: public events carry no bid_id
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    done: int = 0  # viewers that saw the last bid
    ready: int = 0


class OpenBidViewer(WSListener):  # type: ignore[misc]
    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def on_ws_connected(self, transport: WSTransport) -> None:
        transport.send(WSMsgType.BINARY, msgpack.packb({"type": "hello"}))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.BINARY:
            return
        message = msgpack.unpackb(frame.get_payload_as_bytes())
        self._seen(message)

    def _seen(self, message: dict[str, Any]) -> None:
        tally = self.tally
        if message.get("kind") == "bid":
            tally.latencies.append(time.time() * 1000 - message["ts"])
            tally.delivered += 1
            if message["price"] == tally.last_price:
                tally.done += 1
        elif message.get("type") == "welcome":
            tally.ready += 1


class SocketIOViewer(OpenBidViewer):
    def on_ws_connected(self, transport: WSTransport) -> None:
        pass  # the server speaks first (Engine.IO open packet)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        text = frame.get_payload_as_utf8_text()
        if text.startswith("42"):
            self._seen(json.loads(text[2:])[1])
        elif text == "2":
            transport.send(WSMsgType.TEXT, b"3")  # Engine.IO ping -> pong
        elif text.startswith("0"):
            transport.send(WSMsgType.TEXT, b"40")  # join the default namespace
        elif text.startswith("40"):
            self.tally.ready += 1


def tree(pid: int) -> list[int]:
    """`pid` and its descendants: a server of several workers is all of them."""
    found = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            found += tree(int(child))
    return found


def cpu_seconds(pid: int) -> float:
    total = 0
    for each in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    total = 0
    for each in tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


async def start_server(
    kind: str, redis_url: str, tmp: Path, workers: int = 1
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    if kind == "openbid":
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                   "--redis-url", redis_url, "--data-dir", str(tmp / "data"),
                   "--viewers-per-address", "0", "--workers", str(workers)]  # fmt: skip
    else:
        command = [sys.executable, str(ROOT / "loadtests" / "socketio_baseline.py"),
                   "--redis-url", redis_url, "--port", str(port)]  # fmt: skip
    env = os.environ | {"OPENBID_ADMIN_TOKEN": ADMIN, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    if kind == "openbid":  # its parent binds the port before the workers serve: ask it
        if await asyncio.to_thread(_listening, process):
            return process, port
        raise RuntimeError("openbid serve exited before listening")
    for _ in range(500):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return process, port
        except OSError:
            await asyncio.sleep(0.02)  # a starting process: no event to await
    raise RuntimeError(f"{kind} server did not start")


def _listening(process: subprocess.Popen[bytes]) -> bool:
    """Read `openbid serve`'s output until it says it listens (every worker serving)."""
    assert process.stdout is not None
    return any(line.startswith(b"openbid listening") for line in process.stdout)


async def make_lot(book: LotBook) -> str:
    now = await book.logs.server_time()
    config = LotConfig.parse({
        "title": "bench", "category": "land", "mode": "auction", "quote_unit": "元",
        "start_price": 10_000_000, "increment": 1, "deposit": 0,
        "opens_at": now, "free_ends_at": now + 3_600_000, "countdown_s": 300,
    })  # fmt: skip
    hidden = new_secrets()
    await book.create("fan", config, hidden, created_fields(config, hidden))
    args = {"bidder_id": "b", "plate": "1234", "name": "n", "token_hash": "x"}
    await book.command("fan", "register", args)
    return "fan"


async def one(
    kind: str, viewers: int, seconds: float, rate: int, workers: int = 1
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedValkey(Path(tmp) / "v", persist=False) as v:
        client = await connect(v.url)
        book = LotBook(client)  # type: ignore[arg-type]
        lot = await make_lot(book)
        process, port = await start_server(kind, v.url, Path(tmp), workers)
        try:
            found = await measure(kind, book, lot, process.pid, port, viewers, seconds, rate)
            if kind == "openbid" and workers > 1:
                found["gc_longest_ms"] = await longest_pause(port, workers)
            return found
        finally:
            process.terminate()
            process.wait()
            await client.aclose()


async def connect_viewers(
    url: str, listener: Callable[[], WSListener], tally: Tally, viewers: int,
    headers: dict[str, str] | None = None, wait_s: float = 60.0,
) -> list[WSTransport]:  # fmt: skip
    """Connect `viewers` to `url`, CONNECT_AT_ONCE at a time, and wait (`wait_s` at most
    after the last connect) for their welcomes; their transports. `tally.ready` says how
    many were welcomed."""
    transports: list[WSTransport] = []
    for start in range(0, viewers, CONNECT_AT_ONCE):
        batch = range(start, min(viewers, start + CONNECT_AT_ONCE))
        made = await asyncio.gather(
            *(
                ws_connect(listener, url, extra_headers=MSGPACK if headers is None else headers)
                for _ in batch
            )
        )
        transports += [t for t, _ in made]
    deadline = time.perf_counter() + wait_s
    while tally.ready < viewers and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)  # welcomes arrive on the listeners' callbacks
    return transports


async def measure(kind: str, book: LotBook, lot: str, pid: int, port: int, viewers: int,
                  seconds: float, rate: int) -> dict[str, float]:  # fmt: skip
    tally = Tally()
    if kind == "openbid":
        url, listener, headers = f"ws://127.0.0.1:{port}/ws/lots/{lot}", OpenBidViewer, {
            "Sec-WebSocket-Protocol": "openbid.msgpack.v1"}  # fmt: skip
    else:
        url, listener, headers = (f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket",
                                  SocketIOViewer, {})  # fmt: skip
    await asyncio.sleep(1.0)  # let the server settle before the baseline RSS
    before = rss_bytes(pid)
    transports = await connect_viewers(url, lambda: listener(tally), tally, viewers, headers)
    if tally.ready < viewers:
        raise RuntimeError(f"only {tally.ready} of {viewers} viewers were welcomed")
    await asyncio.sleep(1.0)
    idle = (rss_bytes(pid) - before) / viewers
    cpu0, total = cpu_seconds(pid), int(seconds * rate)
    start = time.perf_counter()
    tally.last_price = 10_000_000 + total
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        args = {"bidder_id": "b", "bid_id": str(i), "price": 10_000_001 + i}
        await book.command(lot, "bid", args)
    deadline = time.perf_counter() + 120
    while tally.done < viewers and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    cpu = cpu_seconds(pid) - cpu0
    for transport in transports:
        transport.disconnect()
    lat = sorted(tally.latencies)
    return {
        "p50_ms": lat[len(lat) // 2], "p99_ms": lat[int(len(lat) * 0.99)],
        "us_per_message": cpu / max(1, tally.delivered) * 1e6,
        "kib_per_idle_conn": idle / 1024, "delivered": tally.delivered,
        "expected": total * viewers,
        "gc_longest_ms": await longest_pause(port) if kind == "openbid" else float("nan"),
    }  # fmt: skip


async def longest_pause(port: int, workers: int = 1) -> float:
    """The server's longest collector pause since it started (viewers arriving included):
    the longest of its workers'."""
    return max((await pauses_by_worker(port, workers)).values(), default=float("nan"))


async def pauses_by_worker(port: int, workers: int = 1) -> dict[str, float]:
    """Each worker's longest collector pause (ms) by its `x-openbid-worker`: `/metrics`
    scraped on a fresh connection (the next free worker answers) until all have been."""
    staff = {"authorization": f"Bearer {ADMIN}"}
    pauses: dict[str, float] = {}
    for _ in range(50 * workers):
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/metrics", headers=staff)
        for family in text_string_to_metric_families(answer.text):
            for sample in family.samples:
                if sample.name == "openbid_gc_pause_longest_seconds":
                    pauses[answer.headers.get("x-openbid-worker", "0")] = sample.value * 1000
        if len(pauses) >= workers:
            break
    return pauses


def open_files_for(viewers: int) -> None:
    """Raise this process's open-file limit (the servers it starts inherit it) to what the
    largest run needs: a viewer and its server side each hold one descriptor."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = viewers + 1024
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            sys.exit(f"{viewers} viewers need {need} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=10)
    parser.add_argument("--servers", nargs="+", default=["openbid", "socketio"])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workers", type=int, default=1, help="OpenBid's server processes")
    args = parser.parse_args()
    open_files_for(max(args.viewers))
    report: dict[str, dict[str, float]] = {}
    print(f"{'server':<9} {'viewers':>7} {'p50 ms':>8} {'p99 ms':>8} {'µs/msg':>7} "
          f"{'KiB/conn':>8} {'delivered':>13} {'longest GC ms':>13}")  # fmt: skip
    for n in args.viewers:
        for kind in args.servers:
            r = report[f"{kind}-{n}"] = await one(kind, n, args.seconds, args.rate, args.workers)
            print(f"{kind:<9} {n:>7} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
                  f"{r['us_per_message']:>7.1f} {r['kib_per_idle_conn']:>8.1f} "
                  f"{r['delivered']:>6.0f}/{r['expected']:.0f} {r['gc_longest_ms']:>13.0f}",
                  flush=True)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
