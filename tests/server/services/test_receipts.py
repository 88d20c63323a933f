"""Receipts from the outside: every acknowledgement carries the server's signed word of
what it logged; `openbid verify --receipt` finds it in an export and in the server's
checkpointed log; a receipt for an entry the log does not hold fails both ways."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path

import httpx
import pytest

from auction.checkpoint import Signer, Verifier
from auction.receipt import Receipt
from server.cli import main
from tests.conftest import LOG_SIGNER, lot_config
from tests.server.helpers import bearer, qualified_bidder
from tests.server.test_verify import save
from tests.server.wsclient import client

KEY = Verifier(LOG_SIGNER.vkey())


async def open_lot(admin: httpx.AsyncClient, **overrides: object) -> str:
    now = (await admin.get("/api/health")).json()["server_now"]
    config = lot_config(opens_at=now, free_ends_at=now + 600_000) | overrides
    return str((await admin.post("/api/lots", json=config)).json()["lot_id"])


def files(tmp_path: Path, note: str) -> tuple[str, str]:
    key, receipt = tmp_path / "log.vkey", tmp_path / "receipt.note"
    key.write_text(LOG_SIGNER.vkey())
    receipt.write_text(note)
    return str(receipt), str(key)


async def test_a_bid_s_receipt_is_in_the_export_and_in_the_checkpointed_log(
    admin: httpx.AsyncClient, served: str, tmp_path: Path
) -> None:
    lot = await open_lot(admin)
    bidder = await qualified_bidder(admin, lot, "甲")
    answer = (await admin.post(f"/api/lots/{lot}/bids", headers=bearer(bidder["token"]),
                               json={"bid_id": "r1", "price": 34_380_000})).json()  # fmt: skip
    receipt = Receipt.parse(KEY.open(answer["receipt"]))
    said = (receipt.log, receipt.kind, receipt.bid_id, receipt.price)
    assert said == (lot, "bid", "r1", 34_380_000)
    again = (await admin.post(f"/api/lots/{lot}/bids", headers=bearer(bidder["token"]),
                              json={"bid_id": "r1", "price": 34_380_000})).json()  # fmt: skip
    assert Receipt.parse(KEY.open(again["receipt"])) == receipt  # the first answer's entry

    document = (await admin.get(f"/api/lots/{lot}/audit")).json()  # also checkpoints the bid
    export = str(save(tmp_path, document))
    note, key = files(tmp_path, answer["receipt"])
    assert main(["verify", "--receipt", note, "--key", key, export]) == 0
    online = ["verify", "--receipt", note, "--key", key, "--url", served]
    assert await asyncio.to_thread(main, online) == 0

    row = next(r for r in document["entries"] if r["entry"].get("bid_id") == "r1")
    assert receipt.entry == hashlib.sha256(base64.b64decode(row["raw"])).hexdigest()
    assert receipt.time == row["entry"]["ts"]


async def test_a_receipt_the_log_does_not_hold_fails(
    admin: httpx.AsyncClient, served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server signed a receipt and then dropped the entry (or never wrote it): the
    bidder's receipt is the proof, and both checks say so."""
    lot = await open_lot(admin)
    bidder = await qualified_bidder(admin, lot, "甲")
    await admin.post(f"/api/lots/{lot}/bids", headers=bearer(bidder["token"]),
                     json={"bid_id": "kept", "price": 34_380_000})  # fmt: skip
    export = str(save(tmp_path, (await admin.get(f"/api/lots/{lot}/audit")).json()))
    dropped = Receipt(log=lot, entry=hashlib.sha256(b"a bid never logged").hexdigest(),
                      time=1, kind="bid", bid_id="lost", price=34_880_000)  # fmt: skip
    note, key = files(tmp_path, LOG_SIGNER.sign(dropped.body()))
    assert main(["verify", "--receipt", note, "--key", key, export]) == 1
    assert "does not hold the acknowledged entry" in capsys.readouterr().err
    online = ["verify", "--receipt", note, "--key", key, "--url", served]
    assert await asyncio.to_thread(main, online) == 1
    assert "does not hold the entry it acknowledged" in capsys.readouterr().err

    forged = Signer.generate(LOG_SIGNER.name).sign(dropped.body())
    note, key = files(tmp_path, forged)
    assert main(["verify", "--receipt", note, "--key", key, export]) == 1
    assert "the receipt does not hold" in capsys.readouterr().err


async def test_every_acknowledgement_over_the_websocket_carries_a_receipt(
    admin: httpx.AsyncClient, served: str
) -> None:
    lot = await open_lot(admin)
    bidder = await qualified_bidder(admin, lot, "甲")
    async with client(served, lot) as ws:
        await ws.hello(bidder["token"])
        await ws.send({"type": "bid", "bid_id": "w1", "price": 34_380_000})
        ack = (await ws.until(lambda m: m["type"] in ("ack", "nack")))[-1]
        await ws.send({"type": "bid", "bid_id": "w2", "price": 1})
        nack = (await ws.until(lambda m: m["type"] in ("ack", "nack")))[-1]
    assert ack["type"] == "ack" and Receipt.parse(KEY.open(ack["receipt"])).bid_id == "w1"
    assert nack["type"] == "nack" and "receipt" not in nack


async def test_a_sealed_bid_s_receipt_names_the_price_its_bidder_sealed(
    admin: httpx.AsyncClient,
) -> None:
    lot = await open_lot(admin, mode="sealed")
    bidder = await qualified_bidder(admin, lot, "甲")
    answer = (await admin.post(f"/api/lots/{lot}/bids", headers=bearer(bidder["token"]),
                               json={"bid_id": "s1", "price": 34_880_000})).json()  # fmt: skip
    receipt = Receipt.parse(KEY.open(answer["receipt"]))
    assert (receipt.kind, receipt.price) == ("bid", 34_880_000)
    document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert "34880000" not in str(document["entries"])  # the log holds it sealed still
