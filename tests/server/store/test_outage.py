"""An outage during 限时竞价 suspends the lot instead of settling it (RULES §1.9, review R1):
the store is stopped (SIGSTOP) across the countdown's deadline, and on its return the lot is
`suspended` by the platform, not sold to whoever led. Host and supervisor resume it with a
full countdown; one of them alone cannot."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx

from server.store.embedded import EmbeddedValkey
from tests.conftest import SUPERVISOR, admin_client, serving
from tests.server.helpers import bearer, lot_in_limited, make_lot, qualified_bidder
from tests.server.wsclient import client

COUNTDOWN_S, GRACE_S = 2, 1


async def test_a_stalled_store_across_the_deadline_suspends_the_lot(tmp_path: Path) -> None:
    with EmbeddedValkey(tmp_path, persist=False) as store:
        assert store.process is not None
        async with serving(store.url) as url, admin_client(url) as admin:
            lot_id, (leader,) = await lot_in_limited(
                admin, "甲公司", countdown_s=COUNTDOWN_S, late_grace_s=GRACE_S
            )
            sent = await admin.post(f"/api/lots/{lot_id}/bids", headers=bearer(leader["token"]),
                                    json={"bid_id": "1", "price": 34_380_000})  # fmt: skip
            assert sent.json()["accepted"]
            async with client(url, lot_id, "openbid.json.v1") as viewer:
                await viewer.hello()
                os.kill(store.process.pid, signal.SIGSTOP)
                try:  # the store is gone through the deadline and past its grace
                    await asyncio.sleep(COUNTDOWN_S + GRACE_S + 1)  # time passing: no event
                finally:
                    os.kill(store.process.pid, signal.SIGCONT)
                moved = await viewer.until(lambda m: m.get("kind") in ("suspended", "closed"))
            assert moved[-1]["kind"] == "suspended" and moved[-1]["by"] == "platform"
            assert moved[-1]["phase"] == "limited"
            late = await admin.post(f"/api/lots/{lot_id}/bids", headers=bearer(leader["token"]),
                                    json={"bid_id": "2", "price": 34_880_000})  # fmt: skip
            assert late.status_code == 409 and late.json()["code"] == "SUSPENDED"
            result = await admin.get(f"/api/lots/{lot_id}/result")
            assert result.status_code == 409  # nothing was decided

            reason = {"reason": "存储故障已排除"}
            asked = await admin.post(f"/api/lots/{lot_id}/resume", json=reason)
            assert asked.status_code == 202 and asked.json()["pending"] == "resume"
            again = await admin.post(f"/api/lots/{lot_id}/resume", json=reason)
            assert again.status_code == 409 and again.json()["code"] == "CONFLICT"  # not alone
            done = await admin.post(f"/api/lots/{lot_id}/resume", json=reason,
                                    headers=bearer(SUPERVISOR))  # fmt: skip
            assert done.status_code == 200, done.text
            assert done.json()["deadline"] - done.json()["server_now"] >= COUNTDOWN_S * 1000 - 50
            seen = (await admin.get(f"/api/lots/{lot_id}")).json()
            assert seen["phase"] == "limited" and seen["price"] == 34_380_000
            bid = {"bid_id": "3", "price": 34_880_000}
            resumed = await admin.post(f"/api/lots/{lot_id}/bids", json=bid,
                                       headers=bearer(leader["token"]))  # fmt: skip
            assert resumed.json()["accepted"]


async def test_the_public_sees_the_suspension_and_its_reason(tmp_path: Path) -> None:
    with EmbeddedValkey(tmp_path, persist=False) as store:
        async with serving(store.url) as url, admin_client(url) as admin:
            lot_id = await make_lot(admin)
            held = await admin.post(f"/api/lots/{lot_id}/suspend", json={"reason": "网络故障"},
                                    headers=bearer(SUPERVISOR))  # fmt: skip
            assert held.status_code == 200
            events = (await admin.get(f"/api/lots/{lot_id}/events")).json()["events"]
            suspended = events[-1]
            assert (suspended["kind"], suspended["reason"], suspended["by"]) == (
                "suspended",
                "网络故障",
                "supervisor",
            )
            twice = await admin.post(f"/api/lots/{lot_id}/suspend", json={"reason": "再次"})
            assert twice.status_code == 409


async def test_a_bid_while_the_store_is_gone_is_answered_and_resent_by_its_bid_id(
    tmp_path: Path,
) -> None:
    """Deliverable 3: the store dies under a live room. The bid gets a clear
    STORE_UNAVAILABLE (its fate unknown), the connection stays, and the same bid_id sent
    again once the store is back gets its true answer."""
    with EmbeddedValkey(tmp_path, persist=True) as store:
        assert store.process is not None
        async with serving(store.url) as url, admin_client(url) as admin:
            lot_id = await make_lot(admin)
            bidder = await qualified_bidder(admin, lot_id, "甲公司")
            async with client(url, lot_id, "openbid.json.v1") as room:
                assert (await room.hello(bidder["token"]))["role"] == "bidder"
                store.process.kill()
                store.process.wait()
                bid = {"type": "bid", "bid_id": "during", "price": 34_380_000}
                await room.send(bid)
                gone = (await room.until(lambda m: m["type"] in ("ack", "nack", "error")))[-1]
                assert gone["type"] == "nack" and gone["code"] == "STORE_UNAVAILABLE"
                assert gone["bid_id"] == "during"
                store.start()  # back on its append-only file
                await room.send(bid)
                answer = (await room.until(lambda m: m["type"] in ("ack", "nack")))[-1]
                assert answer["type"] == "ack" and answer["price"] == 34_380_000
                await room.send(bid)  # and again: the first answer, not a second bid
                again = (await room.until(lambda m: m["type"] in ("ack", "nack")))[-1]
                assert again["seq"] == answer["seq"]


async def test_a_reason_the_rules_would_refuse_is_refused_at_the_door(
    admin: httpx.AsyncClient,
) -> None:
    """Found in review: a blank or bidi-laden reason passed the body's type, went into the
    public log, and made `openbid verify` crash on the lot."""
    lot_id = await make_lot(admin)
    for reason in (" ", "网络\u202e故障", "a\u0000b"):
        answer = await admin.post(f"/api/lots/{lot_id}/suspend", json={"reason": reason})
        assert answer.status_code == 422 and answer.json()["field"] == "reason"
    assert (await admin.get(f"/api/lots/{lot_id}")).json()["phase"] == "free"
