"""An emission-rights lot (排污权) from the outside: bids of a unit price and a quantity over
HTTP and the room, the quantity shared among three winners at the close, each winner's
deposit kept and its own signed 成交确认书, and the export replayed by `openbid verify`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from redis.asyncio import Redis

from server.cli import main
from tests.server.helpers import bearer, closing, lot_in_limited
from tests.server.services.test_documents import valid_pdf
from tests.server.wsclient import client

START, STEP = 34_380_000, 500_000  # lot_config's unit price and increment, per 吨 here
EMISSION = dict(
    category="emission", quote_unit="元/吨", quantity=100, quantity_unit="吨", min_quantity=10,
    quantity_step=5, countdown_s=4,  # each bid restarts it: time for the five bids below
)  # fmt: skip


async def test_three_winners_share_the_quantity_and_the_log_replays(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, redis: Redis, tmp_path: Path
) -> None:
    lot, (a, b, c, d) = await lot_in_limited(admin, "甲", "乙", "丙", "丁", **EMISSION)
    base = str(admin.base_url)
    async with closing(redis, lot):
        for who, price, quantity in [(a, START, 30), (b, START + STEP, 50), (c, START + STEP, 40)]:
            answer = await admin.post(
                f"/api/lots/{lot}/bids", headers=bearer(who["token"]),
                json={"bid_id": f"{who['plate']}-{price}", "price": price, "quantity": quantity},
            )  # fmt: skip
            assert answer.status_code == 200, answer.text
        refused = await admin.post(
            f"/api/lots/{lot}/bids", headers=bearer(d["token"]),
            json={"bid_id": "few", "price": START, "quantity": 7},
        )  # fmt: skip
        assert (refused.status_code, refused.json()["code"]) == (409, "BAD_QUANTITY")
        async with client(base, lot) as room:  # 丁 in the room; 甲 raises, replacing its bid
            await room.hello(d["token"])
            await room.send({"type": "bid", "bid_id": "d1", "price": START, "quantity": 40})
            (*_, ack) = await room.until(lambda m: m["type"] in ("ack", "nack"))
            assert ack["type"] == "ack", ack
        raised = await admin.post(
            f"/api/lots/{lot}/bids",
            headers=bearer(a["token"]),
            json={"bid_id": "a2", "price": START + 2 * STEP, "quantity": 20},
        )
        assert raised.json()["quantity"] == 20

    result = (await admin.get(f"/api/lots/{lot}/result")).json()
    shares = [(s["name"], s["price"], s["quantity"], s["amount"]) for s in result["allocated"]]
    assert shares == [
        ("甲", START + 2 * STEP, 20, (START + 2 * STEP) * 20),
        ("乙", START + STEP, 50, (START + STEP) * 50),
        ("丙", START + STEP, 30, (START + STEP) * 30),  # asked 40, got what was left
    ]
    kept = {r["name"]: r["retained"] > 0 for r in result["refunds"]}
    assert kept == {"甲": True, "乙": True, "丙": True, "丁": False}
    async with client(base, lot) as room:  # what 丙 sees of its own standing bid
        welcome = await room.hello(c["token"])
    assert welcome["lot"]["me"]["standing"] == {"price": START + STEP, "quantity": 40}

    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps((await admin.get(f"/api/lots/{lot}/audit")).json()))
    assert main(["verify", str(audit)]) == 0

    confirmation = f"/api/lots/{lot}/confirmation.pdf"
    pdfs = {s["plate"]: (await valid_pdf(public, f"{confirmation}?plate={s['plate']}"))[0]
            for s in result["allocated"]}  # fmt: skip
    assert len(set(pdfs.values())) == 3  # one for each winner
    first, _ = await valid_pdf(public, confirmation)
    assert first == pdfs[a["plate"]]
    loser = await public.get(f"{confirmation}?plate={d['plate']}")
    assert (loser.status_code, loser.json()["code"]) == (404, "NOT_FOUND")
