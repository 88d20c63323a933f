"""A lot closes by itself at its deadline; its export verifies; any change is caught."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import msgpack
from redis.asyncio import Redis

from auction.log import genesis, link
from server.cli import main
from tests.server.helpers import bearer, closing, lot_in_limited, make_lot, qualified_bidder


async def closed_lot(admin: httpx.AsyncClient, redis: Redis) -> str:
    """A 限时 lot with a one-second countdown, bid on, then closed by the timer alone."""
    lot, (a, b) = await lot_in_limited(admin, "甲", "乙", countdown_s=1, reserve=34_880_000)
    async with closing(redis, lot):
        for i, (who, price) in enumerate([(a, 34_380_000), (b, 34_880_000), (a, 35_000_000)]):
            await admin.post(f"/api/lots/{lot}/bids", json={"bid_id": str(i), "price": price},
                             headers=bearer(who["token"]))  # fmt: skip
    return lot


def save(tmp_path: Path, document: dict[str, Any], name: str = "audit.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False))
    return path


async def test_export_verifies_and_any_change_is_caught(
    admin: httpx.AsyncClient, redis: Redis, tmp_path: Path
) -> None:
    lot = await closed_lot(admin, redis)
    result = (await admin.get(f"/api/lots/{lot}/result")).json()
    assert result["outcome"] == "sold" and result["price"] == 34_880_000
    assert result["winner_name"] == "乙" and result["reserve"] == 34_880_000
    refunds = {r["name"]: (r["refund"], r["retained"]) for r in result["refunds"]}
    assert refunds == {"甲": (10_000_000, 0), "乙": (0, 10_000_000)}
    document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert result["audit_head"] == document["head"]
    assert main(["verify", str(save(tmp_path, document))]) == 0

    text = save(tmp_path, document).read_text()
    one_byte = text.replace("34880000", "34880001", 1)  # one byte in a readable entry
    assert one_byte != text
    assert main(["verify", str(save(tmp_path, json.loads(one_byte), "byte.json"))]) == 1

    raw = bytearray(base64.b64decode(document["entries"][5]["raw"]))
    raw[-1] ^= 1  # one bit in a stored entry
    flipped = json.loads(json.dumps(document))
    flipped["entries"][5]["raw"] = base64.b64encode(raw).decode()
    assert main(["verify", str(save(tmp_path, flipped, "bit.json"))]) == 1


async def test_a_rechained_forgery_still_fails_the_replay(
    admin: httpx.AsyncClient, redis: Redis, tmp_path: Path
) -> None:
    """Someone who rewrites an entry and recomputes every hash after it is caught by the
    rules: here an accepted bid moved off the price grid."""
    lot = await closed_lot(admin, redis)
    document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    entries = [row["entry"] for row in document["entries"]]
    first_bid = next(e for e in entries if e["kind"] == "bid")
    first_bid["price"] += 1
    previous, rows = genesis(lot), []
    for entry in entries:
        raw = msgpack.packb(entry)
        previous = link(previous, raw)
        rows.append({"seq": entry["seq"], "hash": previous, "entry": entry,
                     "raw": base64.b64encode(raw).decode()})  # fmt: skip
    forged = document | {"entries": rows, "head": previous}
    assert main(["verify", str(save(tmp_path, forged))]) == 1


async def test_an_open_lot_verifies_too(admin: httpx.AsyncClient, tmp_path: Path) -> None:
    lot = await make_lot(admin, reserve=36_000_000)
    bidder = await qualified_bidder(admin, lot, "甲")
    await admin.post(f"/api/lots/{lot}/bids", json={"bid_id": "1", "price": 34_380_000},
                     headers=bearer(bidder["token"]))  # fmt: skip
    document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert main(["verify", str(save(tmp_path, document))]) == 0
    assert "36000000" not in json.dumps(document)  # the reserve stays hidden until the close
