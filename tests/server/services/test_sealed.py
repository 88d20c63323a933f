"""A 一次报价 lot over the real server (security review H5): until the close no sealed price
is anywhere staff or the store can read it (the audit export, the staff's live room, the
store itself); at the close the server opens every bid, the highest wins, and the export
replays in `openbid verify`, which refuses a key that is not the one committed to."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
from redis.asyncio import Redis

from server.store.embedded import EmbeddedValkey
from tests.conftest import ADMIN, SUPERVISOR, TIMEOUT, admin_client, serving
from tests.server.helpers import bearer, make_lot, qualified_bidder
from tests.server.wsclient import client

PRICES = {"甲公司": 2_748_000, "乙公司": 2_918_000, "丙公司": 2_628_000}  # 元/月 in fen
SEALED_FOR_MS = 2500


async def test_nobody_reads_a_sealed_price_before_the_close(
    served: str, admin: httpx.AsyncClient, redis: Redis, tmp_path: Path
) -> None:
    now = (await admin.get("/api/health")).json()["server_now"]
    lot_id = await make_lot(admin, mode="sealed", start_price=2_618_000, increment=10_000,
                            free_ends_at=now + SEALED_FOR_MS)  # fmt: skip
    made = {name: await qualified_bidder(admin, lot_id, name) for name in PRICES}
    async with client(served, lot_id, "openbid.json.v1") as staff:
        assert (await staff.hello(SUPERVISOR))["role"] == "supervisor"
        for name, price in PRICES.items():
            sent = await admin.post(f"/api/lots/{lot_id}/bids", headers=bearer(made[name]["token"]),
                                    json={"bid_id": f"s-{name}", "price": price})  # fmt: skip
            assert sent.status_code == 200 and sent.json()["accepted"], sent.text
        first = bearer(made["甲公司"]["token"])
        again = await admin.post(f"/api/lots/{lot_id}/bids", headers=first,
                                 json={"bid_id": "again", "price": 2_758_000})  # fmt: skip
        assert again.status_code == 409 and again.json()["code"] == "ALREADY_SUBMITTED"
        off = await admin.post(f"/api/lots/{lot_id}/bids", headers=bearer(made["丙公司"]["token"]),
                               json={"bid_id": "off", "price": 2_618_001})  # fmt: skip
        assert off.status_code == 409 and off.json()["code"] == "OFF_INCREMENT"

        exported = (await admin.get(f"/api/lots/{lot_id}/audit")).text
        stored = b"".join(
            [await redis.dump(k) or b"" async for k in redis.scan_iter(f"ob:{{{lot_id}}}:*")]
        )
        for price in PRICES.values():
            assert str(price) not in exported  # the host's export
            assert str(price).encode() not in stored and price.to_bytes(8, "big") not in stored
        closed = await staff.until(lambda m: m.get("kind") == "closed")
    seen_live = json.dumps(closed)
    revealed = next(m for m in closed if m.get("kind") == "revealed")
    assert seen_live.index(str(PRICES["乙公司"])) >= seen_live.index('"revealed"')  # not before
    assert [row[1] for row in revealed["rows"]] == sorted(PRICES.values(), reverse=True)
    result = (await admin.get(f"/api/lots/{lot_id}/result")).json()
    assert (result["outcome"], result["price"], result["winner_name"]) == (
        "sold",
        2_918_000,
        "乙公司",
    )

    path = tmp_path / "audit.json"
    path.write_text((await admin.get(f"/api/lots/{lot_id}/audit")).text)
    assert verify(path).returncode == 0, verify(path).stderr
    forged = json.loads(path.read_text())
    for row in forged["entries"]:  # another key: the bids open to nothing, or to other prices
        if row["entry"]["kind"] == "revealed":
            row["entry"]["key"] = "00" * 32
    path.write_text(json.dumps(forged))
    refused = verify(path)
    assert refused.returncode == 1 and "FAILED" in refused.stderr


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", "verify", str(path)],
                          capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip


async def test_the_host_cannot_bid_a_sealed_price_into_the_log_in_clear(
    admin: httpx.AsyncClient,
) -> None:
    """The admin may not bid at all; the only way in for a price is a bidder's, sealed."""
    now = (await admin.get("/api/health")).json()["server_now"]
    lot_id = await make_lot(admin, mode="sealed", start_price=2_618_000, increment=10_000,
                            free_ends_at=now + 60_000)  # fmt: skip
    answer = await admin.post(f"/api/lots/{lot_id}/bids", json={"bid_id": "h", "price": 2_618_000},
                              headers=bearer(ADMIN))  # fmt: skip
    assert answer.status_code == 401


async def test_a_process_with_another_secret_leaves_the_lot_waiting(tmp_path: Path) -> None:
    """A wrong sealing secret would void every bid: such a process does not open the lot;
    one with the right secret then closes it as if nothing happened."""
    with EmbeddedValkey(tmp_path / "store", persist=False) as store:
        async with serving(store.url) as url, admin_client(url) as admin:  # the suite's secret
            now = (await admin.get("/api/health")).json()["server_now"]
            deadline = now + 1500
            lot_id = await make_lot(admin, mode="sealed", start_price=2_618_000,
                                    increment=10_000, free_ends_at=deadline)  # fmt: skip
            bidder = await qualified_bidder(admin, lot_id, "甲公司")
            sent = await admin.post(f"/api/lots/{lot_id}/bids", headers=bearer(bidder["token"]),
                                    json={"bid_id": "1", "price": 2_748_000})  # fmt: skip
            assert sent.json()["accepted"]
        async with (
            serving(store.url, sealing_secret=b"another secret" * 3) as url,
            admin_client(url) as admin,
        ):
            seen = (await admin.get(f"/api/lots/{lot_id}")).json()
            while seen["server_now"] < deadline + 1000:  # time passing: no event to await
                await asyncio.sleep(0.1)
                seen = (await admin.get(f"/api/lots/{lot_id}")).json()
            assert seen["phase"] == "sealed"  # past its deadline, waiting to be opened
        async with serving(store.url) as url, admin_client(url) as admin:
            seen = (await admin.get(f"/api/lots/{lot_id}")).json()
            assert seen["phase"] == "closed" and seen["price"] == 2_748_000
