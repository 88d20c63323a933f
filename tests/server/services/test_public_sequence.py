"""R5: the public counts in a sequence of its own. Nothing a viewer sees numbers what the
rules keep secret (registrations, deposits, sealed bids, refusals); staff count in the
audit log; `since` resumes exactly in the sequence of one's audience."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ADMIN, lot_config
from tests.server.helpers import bearer, qualified_bidder
from tests.server.wsclient import Message, client

TIMES = {"ts", "server_now"}  # when things were said: they differ between any two lots


def numbers(value: Any, path: str = "") -> list[tuple[str, int]]:
    """Every number in a view, by where it sits, but for the moments it was taken."""
    if isinstance(value, dict):
        return [n for k, v in sorted(value.items()) if k not in TIMES for n in numbers(v, k)]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in numbers(v, f"{path}[{i}]")]
    if isinstance(value, int) and not isinstance(value, bool):
        return [(path, value)]
    return []


async def watched(url: str, public: httpx.AsyncClient, lot: str) -> list[Any]:
    """What a public viewer can read of a lot: the snapshot, the events page, and the
    welcome and replay on a WebSocket (a pong marks the replay's end)."""
    snapshot = (await public.get(f"/api/lots/{lot}")).json()
    page = (await public.get(f"/api/lots/{lot}/events", params={"since": 0})).json()
    async with client(url, lot, "openbid.json.v1") as viewer:
        welcome = await viewer.hello(since=0)
        await viewer.send({"type": "ping", "t": 1})
        replay = (await viewer.until(lambda m: m["type"] == "pong"))[:-1]
    return [snapshot, page, welcome, replay]


async def test_a_viewer_cannot_tell_no_bidders_from_five(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    now = (await admin.get("/api/health")).json()["server_now"]
    config = lot_config(opens_at=now + 60_000, free_ends_at=now + 120_000, title="同一地块")
    empty, busy = [(await admin.post("/api/lots", json=config)).json()["lot_id"] for _ in "ab"]
    for name in "甲乙丙丁戊":
        await qualified_bidder(admin, busy, name)
    seen_empty = await watched(served, public, empty)
    seen_busy = await watched(served, public, busy)
    assert numbers(seen_empty) == numbers(seen_busy)
    assert seen_busy[0]["seq"] == 1  # the created entry, and nothing else public yet
    staff = (await admin.get(f"/api/lots/{busy}/audit")).json()
    assert len(staff["entries"]) == 1 + 2 * 5  # the audit log counts them all


async def test_sealed_bids_move_no_public_number(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    """Probe P9: during a sealed window the public seq moved with no public entry."""
    now = (await admin.get("/api/health")).json()["server_now"]
    config = lot_config(mode="sealed", opens_at=now, free_ends_at=now + 600_000)
    lot = (await admin.post("/api/lots", json=config)).json()["lot_id"]
    a = await qualified_bidder(admin, lot, "甲")
    before = (await public.get(f"/api/lots/{lot}")).json()["seq"]
    sent = await public.post(f"/api/lots/{lot}/bids", headers=bearer(a["token"]),
                             json={"bid_id": "s1", "price": 34_380_000})  # fmt: skip
    assert sent.json()["accepted"] and sent.json()["seq"] == before  # its place, not a count
    assert (await public.get(f"/api/lots/{lot}")).json()["seq"] == before


async def test_each_audience_resumes_exactly_in_its_own_sequence(
    served: str, admin: httpx.AsyncClient
) -> None:
    now = (await admin.get("/api/health")).json()["server_now"]
    config = lot_config(opens_at=now, free_ends_at=now + 600_000)
    lot = (await admin.post("/api/lots", json=config)).json()["lot_id"]
    a = await qualified_bidder(admin, lot, "甲")
    b = await qualified_bidder(admin, lot, "乙")
    prices = [34_380_000 + i * 500_000 for i in range(6)]
    async with client(served, lot) as ca, client(served, lot) as cb:
        await ca.hello(a["token"])
        await cb.hello(b["token"])
        for i, price in enumerate(prices):
            who = ca if i % 2 == 0 else cb
            await who.send({"type": "bid", "bid_id": f"b{i}", "price": price})
            await who.until(lambda m: m["type"] in ("ack", "nack"))
        await cb.send({"type": "bid", "bid_id": "low", "price": 1})  # a private refusal
        await cb.until(lambda m: m["type"] == "nack")

    async def events(token: str | None, since: int) -> list[Message]:
        async with client(served, lot) as c:
            await c.hello(token, since=since)
            await c.send({"type": "ping", "t": 1})
            return [m for m in await c.until(lambda m: m["type"] == "pong") if m["type"] == "event"]

    public = await events(None, 0)
    public_seqs = [e["seq"] for e in public]
    assert public_seqs == list(range(1, len(public) + 1))  # gapless for the public
    assert [e["seq"] for e in await events(None, 3)] == public_seqs[3:]
    mine = await events(b["token"], 0)  # b's own private entries among the public ones
    assert [e["seq"] for e in mine if not e.get("private")] == public_seqs
    private = [e for e in mine if e.get("private")]
    assert [e["kind"] for e in private] == ["registered", "deposit", "refused"]
    assert private[-1]["code"] == "TOO_LOW"
    assert private[-1]["seq"] == public_seqs[-1]  # the public count it follows
    assert not [e for e in await events(b["token"], public_seqs[-1]) if e["kind"] == "refused"]
    staff = await events(ADMIN, 0)
    assert [e["seq"] for e in staff] == list(range(1, len(staff) + 1))  # the audit log
    assert len(staff) == len(public) + 2 * 2 + 1  # registrations, deposits, the refusal
    assert [e["seq"] for e in await events(ADMIN, 5)] == list(range(6, len(staff) + 1))
