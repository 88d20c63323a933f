"""What `--ack-replicas` costs a write over HTTP: `openbid serve` (its own process) on a
primary with one replica, with and without waiting for the replica, in the same run on the
same store.

    python loadtests/bench_durable_http.py [--seconds 3] [--runs 3] [--clients 32]

Two kinds of write, each from `--clients` clients at once for `--seconds`:
- a party registering itself (`POST /api/parties`): no decision of its own, so with the
  option the answer waits for the shared barrier (server/web/durable.py);
- a bid over HTTP (`POST /api/lots/{lot}/bids`, each client on a lot of its own, so that
  none is refused, taking turns among its lot's `BIDDERS` to stay under the bidders' rate
  limit): the lot's decision waits on its own connection (server/store/acks.py
  `written`), and the answer skips the barrier (server/web/durable.py `decided_alone`).
Reports requests/s and latency (p50, p99), medians over `--runs`, and the ratio of each
to the same run without waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.bench_bidbook import percentile  # noqa: E402
from server.store.replicated import ReplicatedSet  # noqa: E402
from tests.conftest import admin_client  # noqa: E402
from tests.server.helpers import bearer, make_lot, openbid_serve, qualified_bidder  # noqa: E402
from tests.server.services.test_parties import new_code  # noqa: E402

START, STEP = 34_380_000, 500_000
BIDDERS = [f"竞买人{i}" for i in range(10)]
Send = Callable[[int, int], Awaitable[httpx.Response]]  # (client, its n-th request)


async def load(send: Send, clients: int, seconds: float) -> dict[str, float]:
    """Each client sends one request after another until `seconds` have passed."""
    latencies: list[float] = []
    ends = time.perf_counter() + seconds

    async def client(c: int) -> None:
        for n in itertools.count():
            if time.perf_counter() >= ends:
                return
            began = time.perf_counter()
            answer = await send(c, n)
            if answer.status_code >= 300:
                raise RuntimeError(f"{answer.status_code}: {answer.text}")
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    took = time.perf_counter() - began
    return {"per_s": len(latencies) / took, "p50_ms": percentile(latencies, 0.5) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000}  # fmt: skip


async def one_run(url: str, acks: int, clients: int, seconds: float) -> dict[str, float]:
    limits = httpx.Limits(max_connections=clients)
    options = ["--redis-url", url, "--ack-replicas", str(acks)]
    async with (
        openbid_serve(Path(tempfile.mkdtemp()), *options) as (base, _),
        admin_client(base) as admin,
        httpx.AsyncClient(base_url=base, limits=limits) as public,
    ):

        async def register(_: int, __: int) -> httpx.Response:
            party = {"name": "甲建设有限公司", "credit_code": new_code(),
                     "account": "6222021234567890", "contact": "张三 13800000000"}  # fmt: skip
            return await public.post("/api/parties", json=party)

        parties = await load(register, clients, seconds)

        async def lot_of_bidders() -> tuple[str, list[dict[str, str]]]:
            lot = await make_lot(admin)  # open now: 自由报价 for ten minutes
            paid = [await qualified_bidder(admin, lot, name) for name in BIDDERS]
            return lot, [bearer(b["token"]) for b in paid]

        lots = await asyncio.gather(*(lot_of_bidders() for _ in range(clients)))

        async def bid(c: int, n: int) -> httpx.Response:  # one lot each: no bid refused
            lot, auths = lots[c]
            body = {"bid_id": f"b{n}", "price": START + n * STEP}
            return await public.post(f"/api/lots/{lot}/bids", json=body,
                                     headers=auths[n % len(auths)])  # fmt: skip

        bids = await load(bid, clients, seconds)
    return {f"parties_{k}": v for k, v in parties.items()} | {
        f"bids_{k}": v for k, v in bids.items()
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    report: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        replicated = ReplicatedSet(Path(tmp), replicas=1, sentinels=0)
        await asyncio.to_thread(replicated.start)
        assert replicated.primary is not None
        try:
            runs: dict[int, list[dict[str, float]]] = {0: [], 1: []}
            for _ in range(args.runs):  # interleaved, so both settings see the same machine
                for acks in (0, 1):
                    found = await one_run(replicated.primary.url, acks, args.clients, args.seconds)
                    runs[acks].append(found)
            for acks, found in runs.items():
                report[acks] = {k: statistics.median(r[k] for r in found) for k in found[0]}
        finally:
            await asyncio.to_thread(replicated.stop)
    print(f"medians of {args.runs} runs of {args.seconds}s, {args.clients} clients")
    print(f"{'write':<8} {'ack':>3} {'req/s':>7} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7}")
    for kind in ("parties", "bids"):
        base = report[0][f"{kind}_per_s"]
        for acks, m in report.items():
            print(f"{kind:<8} {acks:>3} {m[f'{kind}_per_s']:>7.0f} "
                  f"{m[f'{kind}_per_s'] / base:>6.2f} {m[f'{kind}_p50_ms']:>7.2f} "
                  f"{m[f'{kind}_p99_ms']:>7.2f}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
