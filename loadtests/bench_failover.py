"""How long bidding stops when the store's primary dies: OpenBid on a primary, two replicas
and three Sentinels with `--ack-replicas 1`; bidders stream bids over HTTP (each resends its
bid_id until it is acknowledged, as a client does); the primary is SIGKILLed mid-stream.

    python loadtests/bench_failover.py [--runs 3] [--bidders 4] [--kill signal]

Reports, per run, the longest gap between two acknowledgements (the failover as bidders feel
it), the acknowledgements before and after, and checks that every acknowledged bid is in
the new primary's log, once. Medians over `--runs`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.store.logs import Logs  # noqa: E402
from server.store.replicated import MASTER, ReplicatedSet  # noqa: E402
from server.store.scripts import unpack  # noqa: E402
from server.store.sentinels import sentinel_url  # noqa: E402
from tests.conftest import admin_client, serving  # noqa: E402
from tests.server.helpers import bearer, failing_over, lot_in_limited  # noqa: E402

START, STEP = 34_380_000, 500_000
BEFORE_S, AFTER_S = 3.0, 8.0  # streaming before the kill, and at least this long after it


async def one_run(bidders: int, kill: signal.Signals) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        replicated = ReplicatedSet(Path(tmp), replicas=2, sentinels=3)
        addresses = await asyncio.to_thread(replicated.start)
        said = ",".join(f"{host}:{port}" for host, port in addresses)
        try:
            return await _run(replicated, addresses, said, bidders, kill)
        finally:
            if replicated.primary and replicated.primary.process:
                replicated.primary.process.send_signal(signal.SIGCONT)
            await asyncio.to_thread(replicated.stop)


async def _run(
    replicated: ReplicatedSet, addresses: list[tuple[str, int]], said: str, bidders: int,
    kill: signal.Signals,
) -> dict[str, float]:  # fmt: skip
    async with (
        serving(sentinel_url(said, MASTER), ack_replicas=1) as base,
        admin_client(base) as admin,
    ):
        lot, made = await lot_in_limited(admin, *(f"甲{i}" for i in range(bidders)))
        acks: list[float] = []  # when each acknowledgement came
        acked: list[str] = []
        price = {"next": START}
        stop = {"at": float("inf")}

        async def bidder(who: dict[str, str]) -> None:
            n = 0
            while time.monotonic() < stop["at"]:
                bid_id = f"{who['plate']}-{n}"
                price["next"] += STEP
                body = {"bid_id": bid_id, "price": price["next"]}
                while True:  # the same bid_id until it is answered
                    answer = await admin.post(f"/api/lots/{lot}/bids", json=body,
                                              headers=bearer(who["token"]))  # fmt: skip
                    if answer.status_code != 503:
                        break
                    await asyncio.sleep(0.05)
                if answer.status_code == 200 and answer.json().get("accepted"):
                    acks.append(time.monotonic())
                    acked.append(bid_id)
                n += 1

        streams = [asyncio.create_task(bidder(who)) for who in made]
        await asyncio.sleep(BEFORE_S)
        killed_at = time.monotonic()
        async with failing_over(addresses) as promoted:
            assert replicated.primary is not None and replicated.primary.process is not None
            replicated.primary.process.send_signal(kill)
        stop["at"] = time.monotonic() + AFTER_S
        await asyncio.gather(*streams)
        async with Redis(host=promoted[0], port=int(promoted[1])) as store:
            entries = [unpack(raw) for raw in await Logs(store).log(lot)]
        logged = [e["bid_id"] for e in entries if e["kind"] == "bid"]
        missing = set(acked) - set(logged)
        gaps = [b - a for a, b in itertools.pairwise(acks)]
        return {
            "longest_gap_s": max(gaps),
            "acks_before": sum(t < killed_at for t in acks),
            "acks_after": sum(t >= killed_at for t in acks),
            "lost": len(missing),
            "twice": len(logged) - len(set(logged)),
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bidders", type=int, default=4)
    parser.add_argument("--kill", choices=["SIGKILL", "SIGSTOP"], default="SIGKILL")
    args = parser.parse_args()
    runs = [await one_run(args.bidders, signal.Signals[args.kill]) for _ in range(args.runs)]
    for i, run in enumerate(runs):
        print(f"run {i}: " + ", ".join(f"{k} {v:.2f}" for k, v in run.items()))
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print("median: " + ", ".join(f"{k} {v:.2f}" for k, v in median.items()))


if __name__ == "__main__":
    asyncio.run(main())
