"""What a lot keeps from its operators until the close (review R9): the reserve and the
names behind the plates are nowhere in the store in clear, no staff view shows them, the
supervisor's break-glass look is logged in public before anything is shown, and the close
still settles on the reserve and reveals it, checked by `openbid verify`."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from auction.errors import StoreUnavailable
from server.cli import main
from server.store.keys import channel, lot_keys
from server.store.lots import LotBook
from server.store.scripts import pack
from tests.conftest import SEALING, SUPERVISOR
from tests.server.helpers import bearer, make_lot, qualified_bidder
from tests.server.test_verify import closed_lot, save

RESERVE = 37_654_321  # a figure no price, time or hash of the lot's is likely to hold
NAMES = ("甲建设集团有限公司", "乙置业有限公司")
SUPERVISING = bearer(SUPERVISOR)


async def everything_stored(store: Redis, lot: str) -> bytes:
    """Every byte the store holds under the lot's hash tag, whatever the key's type."""
    redis: Any = store  # undecoded: every reply is bytes
    found: list[bytes] = []
    async for key in redis.scan_iter(match=f"*{{{lot}}}*"):
        found.append(await redis.dump(key) or b"")
        kind = (await redis.type(key)).decode()
        if kind == "string":
            found.append(await redis.get(key) or b"")
        elif kind == "hash":
            found += [k + v for k, v in (await redis.hgetall(key)).items()]
        elif kind == "stream":
            found += [v for _, row in await redis.xrange(key) for v in row.values()]
    assert found, "the lot has keys"
    return b"|".join(found)


async def bidding_lot(admin: httpx.AsyncClient) -> tuple[str, list[dict[str, Any]]]:
    lot = await make_lot(admin, reserve=RESERVE, cap=None)
    bidders = [await qualified_bidder(admin, lot, name) for name in NAMES]
    return lot, bidders


async def test_the_store_holds_neither_the_reserve_nor_a_name_in_clear(
    admin: httpx.AsyncClient, redis: Redis
) -> None:
    lot, bidders = await bidding_lot(admin)
    bid = {"bid_id": "1", "price": 34_380_000}
    placed = await admin.post(
        f"/api/lots/{lot}/bids", json=bid, headers=bearer(bidders[0]["token"])
    )
    assert placed.json()["accepted"] is True
    stored = await everything_stored(redis, lot)
    for secret in (str(RESERVE), *NAMES, f"bank-{bidders[0]['bidder_id']}"):
        assert secret.encode() not in stored, secret
    assert b"34380000" in stored or (34_380_000).to_bytes(4, "big") in stored  # the scan sees

    # the process that made the lot opens what it sealed; one with another secret cannot
    assert (await LotBook(redis, SEALING).config(lot) or {})["reserve"] == RESERVE
    stranger = LotBook(redis, secrets.token_bytes(32))
    assert "reserve" not in (await stranger.config(lot) or {})
    assert await stranger.clear_values(lot) == {}
    answer = await LotBook(redis, SEALING).clear_values(lot)
    assert set(NAMES) <= set(answer.values())


async def test_staff_see_plates_not_names_until_the_supervisor_breaks_the_glass(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    lot, bidders = await bidding_lot(admin)
    for staff in ({}, SUPERVISING):  # the host's token, then the supervisor's
        listed = (await admin.get(f"/api/lots/{lot}/bidders", headers=staff)).json()
        rows = {b["plate"]: b for b in listed["bidders"]}
        assert set(rows) == {b["plate"] for b in bidders}
        assert all(b["name"] is None and b["qualified"] for b in rows.values())
    export = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert "clear" not in export and "blinding_key" not in export
    assert not [name for name in NAMES if name in str(export)]

    why = {"reason": "纪检调查：核实竞买人身份"}
    host = await admin.post(f"/api/lots/{lot}/unmask", json=why)
    assert (host.status_code, host.json()["code"]) == (403, "FORBIDDEN")
    unreasoned = await public.post(f"/api/lots/{lot}/unmask", json={}, headers=SUPERVISING)
    assert (unreasoned.status_code, unreasoned.json()["code"]) == (422, "BAD_MESSAGE")
    before = (await public.get(f"/api/lots/{lot}/events")).json()["events"]
    assert not [e for e in before if e["kind"] == "unmasked"]  # the refused asks logged nothing

    looked = await public.post(f"/api/lots/{lot}/unmask", json=why, headers=SUPERVISING)
    assert looked.status_code == 200, looked.text
    shown = looked.json()
    assert shown["reserve"] == RESERVE
    assert {b["plate"]: b["name"] for b in shown["bidders"]} == {
        b["plate"]: name for b, name in zip(bidders, NAMES, strict=True)
    }
    events = (await public.get(f"/api/lots/{lot}/events")).json()["events"]
    unmasked = [e for e in events if e["kind"] == "unmasked"]
    assert len(unmasked) == 1 and unmasked[0]["seq"] == shown["pseq"]  # public: its own count
    assert unmasked[0]["reason"] == why["reason"] and unmasked[0]["by"] == "supervisor"
    assert unmasked[0]["actor"] == "supervisor-0"  # the person, by name in the staff list
    assert not [name for name in NAMES if name in str(events)] and str(RESERVE) not in str(events)
    again = (await admin.get(f"/api/lots/{lot}/bidders")).json()["bidders"]
    assert all(b["name"] is None for b in again)  # a look is one look, not a lifted mask


async def test_a_sealed_reserve_settles_the_close_and_is_revealed_to_verify(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, redis: Redis, tmp_path: Path
) -> None:
    lot = await closed_lot(admin, redis)  # reserve 34,880,000; the last bid 35,000,000
    result = (await admin.get(f"/api/lots/{lot}/result")).json()
    assert (result["outcome"], result["reserve"]) == ("sold", 34_880_000)
    events = (await public.get(f"/api/lots/{lot}/events")).json()["events"]
    closed = next(e for e in events if e["kind"] == "closed")
    assert closed["reserve"] == 34_880_000 and closed["reserve_salt"]
    bidders = (await admin.get(f"/api/lots/{lot}/bidders")).json()["bidders"]
    assert sorted(b["name"] for b in bidders) == ["乙", "甲"]  # the close lifts the mask
    export = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert {"甲", "乙"} <= set(export["clear"].values())
    assert main(["verify", str(save(tmp_path, export))]) == 0
    late = await public.post(
        f"/api/lots/{lot}/unmask", json={"reason": "迟到"}, headers=SUPERVISING
    )
    assert (late.status_code, late.json()["code"]) == (409, "PHASE_CLOSED")


async def test_a_process_whose_secret_does_not_open_the_reserve_decides_nothing(
    admin: httpx.AsyncClient, redis: Redis
) -> None:
    lot, bidders = await bidding_lot(admin)
    length = await redis.xlen(lot_keys(lot)["log"])
    stranger = LotBook(redis, secrets.token_bytes(32))
    with pytest.raises(StoreUnavailable):
        await stranger.command(lot, "bid", {"bidder_id": bidders[0]["bidder_id"],
                                            "bid_id": "s", "price": 34_380_000})  # fmt: skip
    assert await redis.xlen(lot_keys(lot)["log"]) == length
    # nor will the script itself decide a lot whose reserve it is not handed
    book = LotBook(redis, SEALING)
    bare: list[bytes | str | int] = [pack([("tick", {})]), 0, channel(lot), lot, b""]
    with pytest.raises(ResponseError, match="SEALED reserve"):
        await book._lot(keys=book._keys(lot), args=bare)  # the script's own guard
    assert await redis.xlen(lot_keys(lot)["log"]) == length
