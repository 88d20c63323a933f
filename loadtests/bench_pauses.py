"""The cycle collector's pauses while N viewers arrive, with and without server/pauses.py.

    python loadtests/bench_pauses.py [--viewers 5000] [--runs 3] [--json out.json]

Each run starts one `openbid serve` process with the freezing policy off
(`OPENBID_GC_FREEZE=0`, stock CPython collection) and one with it on, one after the other
on the same machine, and connects N public msgpack viewers to a lot on each, a hundred at
a time as fast as they are accepted (picows clients, as in bench_fanout.py), until every
one is welcomed. Then it reads the server's `/metrics`: the longest pause, and (the
difference with what it said before the viewers came) the passes by generation and how long
they took (the histogram), and the objects frozen. The table
gives every run and the medians.
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

import httpx
from picows import WSTransport
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.bench_fanout import (  # noqa: E402
    ADMIN,
    OpenBidViewer,
    Tally,
    connect_viewers,
    make_lot,
    open_files_for,
)
from server.pauses import SWITCH  # noqa: E402
from server.store.embedded import EmbeddedValkey, free_port  # noqa: E402
from server.store.lots import LotBook  # noqa: E402
from server.web.app import connect  # noqa: E402

POLICIES = {"off": "0", "on": "1"}
GENERATIONS = ("0", "1", "2")
Result = dict[str, float]


async def start_server(
    redis_url: str, tmp: Path, policy: str
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port),
               "--redis-url", redis_url, "--data-dir", str(tmp / "data"),
               "--viewers-per-address", "0"]  # fmt: skip
    env = os.environ | {"OPENBID_ADMIN_TOKEN": ADMIN, "PYTHONPATH": str(ROOT),
                        SWITCH: POLICIES[policy]}  # fmt: skip
    errors = (tmp / "server.err").open("wb")
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=errors)  # fmt: skip
    errors.close()  # the server holds its own
    async with httpx.AsyncClient() as http:
        for _ in range(1500):
            try:
                if (await http.get(f"http://127.0.0.1:{port}/api/health")).status_code == 200:
                    return process, port
            except httpx.TransportError:
                await asyncio.sleep(0.02)  # a starting process: no event to await
            if process.poll() is not None:
                break
    process.kill()
    raise RuntimeError(f"the server did not start: {(tmp / 'server.err').read_text()[-2000:]}")


async def arrive(port: int, lot: str, viewers: int) -> tuple[float, int, list[WSTransport]]:
    """Connect `viewers` and wait for every welcome (30 s at most after the last connect):
    the seconds it took, the viewers welcomed, and their transports."""
    tally, url, started = Tally(), f"ws://127.0.0.1:{port}/ws/lots/{lot}", time.perf_counter()
    transports = await connect_viewers(url, lambda: OpenBidViewer(tally), tally, viewers, wait_s=30)
    return time.perf_counter() - started, tally.ready, transports


async def pauses(port: int) -> Result:
    """What `/metrics` says of the collector: the longest pause, each generation's passes
    and total seconds, the frozen objects, and the passes per histogram bucket (by `le`)."""
    async with httpx.AsyncClient() as http:
        staff = {"authorization": f"Bearer {ADMIN}"}
        text = (await http.get(f"http://127.0.0.1:{port}/metrics", headers=staff)).text
    found: Result = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            generation = s.labels.get("generation", "")
            if s.name == "openbid_gc_pause_longest_seconds":
                found["longest_ms"] = s.value * 1000
            elif s.name == "openbid_gc_frozen_objects":
                found["frozen"] = s.value
            elif s.name == "openbid_gc_reclaims_total":
                found["reclaims"] = s.value
            elif s.name == "openbid_gc_pause_seconds_count":
                found[f"passes_{generation}"] = s.value
            elif s.name == "openbid_gc_pause_seconds_sum":
                found[f"ms_{generation}"] = s.value * 1000
            elif s.name == "openbid_gc_pause_seconds_bucket":
                key = f"le_{s.labels['le']}"
                found[key] = found.get(key, 0) + s.value  # every generation together
    return found


async def one(policy: str, viewers: int) -> Result:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedValkey(Path(tmp) / "v", persist=False) as v:
        client = await connect(v.url)
        lot = await make_lot(LotBook(client))
        process, port = await start_server(v.url, Path(tmp), policy)
        try:
            before = await pauses(port)
            seconds, welcomed, transports = await arrive(port, lot, viewers)
            await asyncio.sleep(1.0)  # the heap settles: the last passes of the arrival
            after = await pauses(port)
            result = {k: v - before.get(k, 0) for k, v in after.items()} | {
                "longest_ms": after["longest_ms"], "frozen": after.get("frozen", 0),
                "arrival_s": seconds, "welcomed": welcomed}  # fmt: skip
            for transport in transports:
                transport.disconnect()
            return result
        finally:
            process.terminate()
            process.wait()
            await client.aclose()


def histogram(result: Result) -> str:
    """Passes per bucket, not cumulative: "≤1 ms: 40, ≤5 ms: 3 ..."."""
    edges = sorted((float(k[3:]), v) for k, v in result.items() if k.startswith("le_"))
    below, parts = 0.0, []
    for edge, cumulative in edges:
        if cumulative > below:
            name = "+Inf" if edge == float("inf") else f"≤{edge * 1000:g} ms"
            parts.append(f"{name}: {cumulative - below:.0f}")
        below = cumulative
    return ", ".join(parts)


def report(runs: dict[str, list[Result]]) -> None:
    print(f"{'policy':<7} {'run':>3} {'longest ms':>10} {'full passes':>11} {'full ms':>8} "
          f"{'all passes':>10} {'frozen':>8} {'reclaims':>8} {'arrival s':>9} "
          f"{'welcomed':>8}")  # fmt: skip
    for policy, results in runs.items():
        for i, r in enumerate(results):
            passes = sum(r.get(f"passes_{g}", 0) for g in GENERATIONS)
            print(f"{policy:<7} {i + 1:>3} {r['longest_ms']:>10.1f} {r.get('passes_2', 0):>11.0f} "
                  f"{r.get('ms_2', 0):>8.0f} {passes:>10.0f} {r.get('frozen', 0):>8.0f} "
                  f"{r.get('reclaims', 0):>8.0f} {r['arrival_s']:>9.1f} "
                  f"{r['welcomed']:>8.0f}")  # fmt: skip
    for policy, results in runs.items():
        median = statistics.median(r["longest_ms"] for r in results)
        middle = sorted(results, key=lambda r: r["longest_ms"])[len(results) // 2]
        print(f"{policy}: median longest pause {median:.1f} ms; its run's passes by length: "
              f"{histogram(middle)}")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    open_files_for(args.viewers)
    runs: dict[str, list[Result]] = {policy: [] for policy in POLICIES}
    for _ in range(args.runs):
        for policy in POLICIES:  # interleaved: the machine's load drifts alike on both
            runs[policy].append(await one(policy, args.viewers))
            print(f"{policy}: {runs[policy][-1]}", file=sys.stderr, flush=True)
    report(runs)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
