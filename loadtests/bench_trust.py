"""What trust costs: signed bids beside unsigned ones, and the transparency log's pace.

    python loadtests/bench_trust.py [--bids 10000] [--runs 3] [--leaves 20000] [--json out.json]

On a private valkey-server (appendfsync always, as `openbid serve` runs it), in one run:
- decisions: bids on one hot lot in 限时竞价 through the lot service (the path an HTTP or
  WebSocket bid takes: checks, the signature, the batcher, the script, the receipt) from 400
  concurrent bidders, closed loop, --bids of each kind, for a lot with `signatures: off`,
  one requiring P-256 and one requiring SM2; decisions/s and p50/p99 of each bid's answer.
  The bidders' signing is done beforehand (it is the bidders' cost, not the server's);
- transparency log: entries chained and put in the tree (leaves/s of `integrate`, a signed
  checkpoint each round), and the sizes of an inclusion and a consistency proof.
Medians over --runs runs; ratios are against the unsigned lot of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tongsuopy.crypto import hashes as sm_hashes
from tongsuopy.crypto import serialization as sm_serialization
from tongsuopy.crypto.asymciphers import ec as sm_ec

from auction.merkle import consistency_ranges, inclusion_ranges
from auction.signatures import message
from server.limits import Limits
from server.services.lots import LotService
from server.store.embedded import EmbeddedValkey
from server.store.lots import LotBook
from server.web.app import connect

BIDDERS, CLIENTS = 50, 400


class Key:
    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        if algorithm == "sm2":
            self.sm2 = sm_ec.generate_private_key(sm_ec.SM2())
            public = self.sm2.public_key().public_bytes(
                sm_serialization.Encoding.PEM, sm_serialization.PublicFormat.SubjectPublicKeyInfo
            )
        else:
            self.p256 = ec.generate_private_key(ec.SECP256R1())
            public = self.p256.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        self.pem = public.decode()

    def sign(self, data: bytes) -> str:
        if self.algorithm == "sm2":
            return base64.b64encode(self.sm2.sign(data, sm_ec.ECDSA(sm_hashes.SM3()))).decode()
        return base64.b64encode(self.p256.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


async def hot_lot(service: LotService, mode: str) -> tuple[str, list[dict[str, Any]]]:
    """A lot in 限时 with BIDDERS registered: mode "off" takes no signatures, "p256" and
    "sm2" require them, with keys of that kind."""
    now = await service.logs.server_time()
    signatures = "off" if mode == "off" else "required"
    lot_id, _ = await service.create_lot({
        "title": "bench", "category": "land", "mode": "auction", "quote_unit": "元",
        "start_price": 10_000_000, "increment": 1, "deposit": 0, "opens_at": now + 1_500,
        "free_ends_at": now + 1_500, "countdown_s": 3600, "signatures": signatures,
    })  # fmt: skip
    bidders = []
    for i in range(BIDDERS):
        key = Key("sm2" if mode == "sm2" else "p256")
        body = {"name": f"n{i}"} | ({"public_key": key.pem} if signatures != "off" else {})
        made = await service.register(lot_id, body)
        bidders.append(made | {"key": key})
    await asyncio.sleep(max(0, now + 1_500 - await service.logs.server_time()) / 1000)
    return lot_id, bidders


async def decisions(service: LotService, mode: str, count: int) -> dict[str, float]:
    """`count` bids, signed beforehand (the bidders' work), sent by CLIENTS bidders each as
    soon as its last was answered; decisions/s and each answer's latency."""
    lot_id, bidders = await hot_lot(service, mode)
    bodies: list[list[tuple[str, dict[str, Any]]]] = [[] for _ in range(CLIENTS)]
    for n in range(count):
        who, price, bid_id = bidders[n % BIDDERS], 10_000_001 + n, f"b{n}"
        body: dict[str, Any] = {"bid_id": bid_id, "price": price}
        if mode != "off":
            signed = message(lot_id, who["plate"], "bid", bid_id=bid_id, price=price)
            body["sig"] = who["key"].sign(signed)
        bodies[n % CLIENTS].append((who["bidder_id"], body))
    latencies: list[float] = []

    async def client(mine: list[tuple[str, dict[str, Any]]]) -> None:
        for bidder_id, body in mine:
            sent = time.perf_counter()
            await service.bid(lot_id, bidder_id, body)
            latencies.append((time.perf_counter() - sent) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(client(mine) for mine in bodies))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {"per_s": len(latencies) / elapsed, "p50_ms": latencies[len(latencies) // 2],
            "p99_ms": latencies[int(len(latencies) * 0.99)]}  # fmt: skip


async def transparency(service: LotService, leaves: int) -> dict[str, float]:
    """Append `leaves` bids on two lots, chain them, then time putting them in the tree
    (in appends of up to 10,000 leaves) and signing a checkpoint over it."""
    lots = [await hot_lot(service, "off") for _ in range(2)]
    written = 0
    while written < leaves:
        for lot_id, _ in lots:
            await service.command(lot_id, "tick")
        for lot_id, bidders in lots:
            for who in bidders[:10]:
                body = {"bid_id": f"t{written}", "price": 10_000_001 + written}
                await service.bid(lot_id, who["bidder_id"], body)
                written += 1
    for lot_id, _ in lots:
        await service.chainer.catch_up(lot_id)
    before = await service.transparency.tree.size()
    start = time.perf_counter()
    size = await service.transparency.integrate(*(lot_id for lot_id, _ in lots))
    elapsed = time.perf_counter() - start
    return {
        "leaves_per_s": (size - before) / elapsed, "tree_size": size,
        "inclusion_hashes": len(inclusion_ranges(size // 2, size)),
        "consistency_hashes": len(consistency_ranges(size // 3, size)),
    }  # fmt: skip


async def one_run(url: str, bids: int, leaves: int) -> dict[str, Any]:
    client = await connect(url)
    await client.flushall()
    unlimited = Limits(bids_per_s=1_000_000, bid_burst=1_000_000)  # the bench's bidders are fast
    service = LotService(LotBook(client, bytes(32)), "bench-admin-token-0123456789", unlimited)
    found = {mode: await decisions(service, mode, bids) for mode in ("off", "p256", "sm2")}
    found["transparency"] = await transparency(service, leaves)
    await service.chainer.close()
    await client.aclose()
    return found


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        part: {k: statistics.median(run[part][k] for run in runs) for k in runs[0][part]}
        for part in runs[0]
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bids", type=int, default=10_000, help="bids of each kind a run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--leaves", type=int, default=20_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedValkey(Path(tmp)) as store:
        runs = [await one_run(store.url, args.bids, args.leaves) for _ in range(args.runs)]
    found = median_of(runs)
    base = found["off"]["per_s"]
    for mode in ("off", "p256", "sm2"):
        row = found[mode]
        print(f"{mode:>5}: {row['per_s']:8.0f} decisions/s ({row['per_s'] / base:4.2f}× unsigned)"
              f"  p50 {row['p50_ms']:6.1f} ms  p99 {row['p99_ms']:6.1f} ms")  # fmt: skip
    log = found["transparency"]
    print(
        f"transparency log: {log['leaves_per_s']:8.0f} entries/s into the tree (signed "
        f"checkpoint included); tree of {log['tree_size']:.0f}: inclusion proof "
        f"{log['inclusion_hashes']:.0f} hashes, consistency proof {log['consistency_hashes']:.0f}"
    )
    if args.json:
        args.json.write_text(json.dumps({"median": found, "runs": runs}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
