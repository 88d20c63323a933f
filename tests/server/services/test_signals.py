"""Collusion signals (防范围串标) over the real server: what bidders were seen from is kept as
they act, the supervisor alone reads the flags with their evidence, and nothing of it
reaches the public, a bidder or the host."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

import httpx

from auction.opening.envelope import seal
from tests.conftest import SUPERVISOR
from tests.server.helpers import bearer, make_lot
from tests.server.services.test_openings import PRICES, act, enrol, new_opening
from tests.server.wsclient import Client, client

PAYER = "6222020200112233445"  # one account paying both bidders' deposits
DEVICE = "dev_7f3a-BROWSER"
KINDS = ("shared_address", "shared_device", "shared_payer", "envelopes_one_machine",
         "identical_prices", "price_progression", "never_outbid")  # fmt: skip
SUPERVISING = bearer(SUPERVISOR)


async def paid_bidder(admin: httpx.AsyncClient, lot: str, name: str, payer: str) -> dict[str, Any]:
    made = (await admin.post(f"/api/lots/{lot}/bidders", json={"name": name})).json()
    deposit = {"amount": 10_000_000, "kind": "cash", "ref": f"bank-{name}", "payer_account": payer}
    paid = await admin.post(f"/api/lots/{lot}/bidders/{made['bidder_id']}/deposit", json=deposit)
    assert paid.json()["qualified"] is True, paid.text
    return dict(made)


async def signals(http: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    found = await http.get(f"{path}/signals", headers=SUPERVISING)
    assert found.status_code == 200, found.text
    flags: list[dict[str, Any]] = found.json()["flags"]
    return flags


def flag(flags: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(f for f in flags if f["kind"] == kind)


def on(bidder: dict[str, Any], device: str) -> dict[str, str]:
    """A bidder's request from the page naming `device`."""
    return bearer(bidder["token"]) | {"x-openbid-device": device}


def last(m: dict[str, Any]) -> bool:
    return m.get("kind") == "bid" and m.get("price") == 35_380_000


async def bid(who: Client, bid_id: str, price: int) -> None:
    await who.send({"type": "bid", "bid_id": bid_id, "price": price})
    answer = (await who.until(lambda m: m["type"] in ("ack", "nack")))[-1]
    assert answer["type"] == "ack", answer


async def test_shared_address_and_payer_reach_the_supervisor_and_no_one_else(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    lot = await make_lot(admin)
    a, b = [await paid_bidder(admin, lot, name, PAYER) for name in ("甲公司", "乙公司")]
    async with AsyncExitStack() as stack:
        viewer, wa, wb = [await stack.enter_async_context(client(served, lot)) for _ in "vab"]
        await viewer.hello(since=0)
        await wa.hello(a["token"])
        await wb.hello(b["token"])
        await bid(wa, "a1", 34_380_000)
        sent = {"bid_id": "b1", "price": 34_880_000}
        over = await public.post(f"/api/lots/{lot}/bids", json=sent, headers=on(b, DEVICE))
        assert over.json()["accepted"] is True, over.text
        await bid(wa, "a2", 35_380_000)

        flags = await signals(public, f"/api/lots/{lot}")
        plates = sorted([a["plate"], b["plate"]])
        address = flag(flags, "shared_address")
        assert address["bidders"] == plates and address["evidence"]["address"] == "127.0.0.1"
        assert [x["action"] for x in address["evidence"]["actions"]] == ["bid"] * 3
        payer = flag(flags, "shared_payer")
        assert payer["bidders"] == plates and payer["evidence"]["payer"] == PAYER
        assert {x["action"] for x in payer["evidence"]["actions"]} == {"deposit"}

        for token, status in ((None, 401), (admin.headers["authorization"][7:], 403),
                              (a["token"], 403), ("x" * 32, 403)):  # fmt: skip
            asked = await public.get(f"/api/lots/{lot}/signals",
                                     headers=bearer(token) if token else {})  # fmt: skip
            assert asked.status_code == status, (token, asked.text)
        # every frame the viewer and the bidders got, up to the last bid's event
        for ws in (viewer, wa, wb):
            if not any(last(m) for m in ws.received):  # a bidder may have had it before its ack
                await ws.until(last)
        seen = [json.dumps(ws.received, ensure_ascii=False) for ws in (viewer, wa, wb)]
    seen.append((await public.get(f"/api/lots/{lot}/events")).text)
    seen.append((await public.get(f"/api/lots/{lot}")).text)
    for said in seen:
        for secret in ("127.0.0.1", DEVICE, PAYER, "signals", *KINDS):
            assert secret not in said, secret


async def test_the_device_from_the_hello_and_the_header_is_evidence_a_malformed_one_not(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    lot = await make_lot(admin)
    a, b = [await paid_bidder(admin, lot, name, f"acct-{name}") for name in ("甲公司", "乙公司")]
    bad = "bad device!"  # sent by both, and ignored
    async with client(served, lot) as wa, client(served, lot) as wb:
        await wa.send({"type": "hello", "token": a["token"], "device": DEVICE})
        await wa.recv()
        await wb.send({"type": "hello", "token": b["token"], "device": bad})
        await wb.recv()
        await bid(wa, "a1", 34_380_000)
        await bid(wb, "b1", 34_880_000)
    for bid_id, price, who, device in (("a2", 35_380_000, a, bad), ("b2", 35_880_000, b, DEVICE),
                                       ("b3", 36_380_000, b, "x" * 65)):  # fmt: skip
        body = {"bid_id": bid_id, "price": price}
        sent = await public.post(f"/api/lots/{lot}/bids", json=body, headers=on(who, device))
        assert sent.json()["accepted"] is True, sent.text

    flags = await signals(public, f"/api/lots/{lot}")
    shared = [f for f in flags if f["kind"] == "shared_device"]
    assert len(shared) == 1 and shared[0]["evidence"]["device"] == DEVICE
    by = {x["bidder"] for x in shared[0]["evidence"]["actions"]}
    assert by == {a["plate"], b["plate"]}  # a's hello, b's header
    assert len(shared[0]["evidence"]["actions"]) == 2
    assert bad not in json.dumps(flags) and "x" * 65 not in json.dumps(flags)
    assert not [f for f in flags if f["kind"] == "shared_payer"]


async def test_two_envelopes_sealed_on_one_machine_are_flagged(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    opening = await new_opening(admin)
    made = []
    for name in ("甲", "乙", "丙"):
        bidder = (await admin.post(f"/api/openings/{opening}/bidders", json={"name": name})).json()
        sealed = seal(opening, bidder["bidder_id"], {"price": PRICES[name]}, ("标书.pdf", b"x"))
        device = "machine-1" if name != "丙" else "machine-2"
        path = f"/api/openings/{opening}/envelopes"
        sent = await public.post(path, json=sealed.upload(), headers=on(bidder, device))
        assert sent.json()["accepted"] is True, sent.text
        made.append(bidder["bidder_id"])

    flags = await signals(public, f"/api/openings/{opening}")
    one = [f for f in flags if f["kind"] == "envelopes_one_machine"]
    by_device = next(f for f in one if f["evidence"].get("device") == "machine-1")
    assert by_device["bidders"] == sorted(made[:2])
    assert [x["action"] for x in by_device["evidence"]["actions"]] == ["envelope"] * 2
    by_address = next(f for f in one if f["evidence"].get("address") == "127.0.0.1")
    assert by_address["bidders"] == sorted(made)
    host = await admin.get(f"/api/openings/{opening}/signals")
    assert host.status_code == 403
    assert (
        await public.get("/api/openings/op00000000/signals", headers=SUPERVISING)
    ).status_code == 404


async def test_an_opening_s_sign_ins_over_the_room_are_traced(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    """The opening's room traces its bidders' commands as the lot's does: two sign-ins
    from one device (named in the hello) are flagged, the third bidder's is not."""
    opening = await new_opening(admin)
    made = [await enrol(admin, opening, name) for name in ("甲", "乙", "丙")]
    async with AsyncExitStack() as stack:
        for bidder, device in zip(made, (DEVICE, DEVICE, "dev-other"), strict=True):
            room = await stack.enter_async_context(client(served, opening, room="openings"))
            await room.send({"type": "hello", "token": bidder["token"], "device": device})
            await room.recv()
            assert (await act(room, {"type": "sign_in"}))["type"] == "ack"
    shared = flag(await signals(public, f"/api/openings/{opening}"), "shared_device")
    assert shared["evidence"]["device"] == DEVICE
    assert [x["action"] for x in shared["evidence"]["actions"]] == ["sign_in"] * 2
    assert shared["bidders"] == sorted(b["bidder_id"] for b in made[:2])


async def test_a_burst_of_bids_is_all_traced(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    lot = await make_lot(admin)
    a, b = [await paid_bidder(admin, lot, name, f"acct-{name}") for name in ("甲公司", "乙公司")]
    prices = [34_380_000 + 500_000 * i for i in range(16)]

    async def send(i: int, price: int) -> None:
        who = (a, b)[i % 2]
        sent = await public.post(f"/api/lots/{lot}/bids", json={"bid_id": f"{i}", "price": price},
                                 headers=bearer(who["token"]))  # fmt: skip
        assert sent.status_code in (200, 409), sent.text  # decided: accepted or outbid

    await asyncio.gather(*(send(i, p) for i, p in enumerate(prices)))
    address = flag(await signals(public, f"/api/lots/{lot}"), "shared_address")
    assert len(address["evidence"]["actions"]) == len(prices)
    stamps = [x["ts"] for x in address["evidence"]["actions"]]
    assert stamps == sorted(stamps)
