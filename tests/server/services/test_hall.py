"""The hall (today's lots and openings), the console's `whoami`, the staff's bidder lists,
and the supervisor (监督): sees what the host sees, changes nothing."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

import server.web.hall
from auction.china import BEIJING
from auction.lot.commit import created_fields, new_secrets
from auction.lot.config import LotConfig
from server.store.embedded import EmbeddedValkey
from server.store.hall import Hall
from server.store.lots import LotBook
from tests.conftest import ADMIN, SUPERVISOR, admin_client, lot_config, serving
from tests.server.helpers import bearer, make_lot, qualified_bidder
from tests.server.services.test_openings import enrol, new_opening
from tests.server.wsclient import client

DAY_MS = 86_400_000


def day_of(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, BEIJING).date().isoformat()


def ids(listed: list[dict[str, object]], kind: str) -> set[object]:
    return {entry[f"{kind}_id"] for entry in listed}


async def from_yesterday(redis: Redis, now: int) -> str:
    """A lot that opened a day ago and runs on: made in the store as the server would have
    made it then (the API refuses an opening time in the past)."""
    config = LotConfig.parse(lot_config(opens_at=now - DAY_MS, free_ends_at=now + 600_000))
    lot_id, hidden = secrets.token_hex(5), new_secrets()
    await Hall(redis).add("lot", lot_id, config.opens_at)
    await LotBook(redis).create(lot_id, config, hidden, created_fields(config, hidden))
    return lot_id


async def test_the_hall_lists_what_starts_today_and_what_still_runs(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, redis: Redis
) -> None:
    now = (await public.get("/api/health")).json()["server_now"]
    today = await make_lot(admin)
    tomorrow = await make_lot(admin, opens_at=now + DAY_MS, free_ends_at=now + DAY_MS + 60_000)
    running = await from_yesterday(redis, now)
    ended = await from_yesterday(redis, now)
    for token in (ADMIN, SUPERVISOR):  # ended yesterday's way: terminated by both roles
        done = await admin.post(f"/api/lots/{ended}/terminate", json={"reason": "终止"},
                                headers=bearer(token))  # fmt: skip
        assert done.status_code in (200, 202), done.text
    opening = await new_opening(admin)

    hall = (await public.get("/api/hall")).json()
    assert hall["day"] == day_of(hall["server_now"])
    listed = ids(hall["lots"], "lot")
    assert {today, running} <= listed and not {tomorrow, ended} & listed
    assert opening in ids(hall["openings"], "opening")
    shown = next(lot for lot in hall["lots"] if lot["lot_id"] == today)
    assert shown["phase"] == "free" and shown["next_min"] == 34_380_000
    assert "reserve" not in shown and "name" not in str(shown)

    later = (await public.get("/api/hall", params={"day": day_of(now + DAY_MS)})).json()
    assert tomorrow in ids(later["lots"], "lot")
    before = (await public.get("/api/hall", params={"day": day_of(now - DAY_MS)})).json()
    assert ended in ids(before["lots"], "lot") and tomorrow not in ids(before["lots"], "lot")

    bad = await public.get("/api/hall", params={"day": "25/11/2026"})
    assert bad.status_code == 422 and bad.json()["field"] == "day"


async def test_whoami_names_the_staff_role_and_nobody_else(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    assert (await admin.get("/api/whoami")).json()["role"] == "admin"
    supervisor = await public.get("/api/whoami", headers=bearer(SUPERVISOR))
    assert supervisor.json()["role"] == "supervisor"
    lot = await make_lot(admin)
    bidder = await qualified_bidder(admin, lot, "甲公司")
    for headers in (bearer(bidder["token"]), {}):
        refused = await public.get("/api/whoami", headers=headers)
        assert refused.status_code == 401 and refused.json()["code"] == "UNAUTHORIZED"


async def test_the_staff_lists_a_lots_bidders_and_the_supervisor_only_reads(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    lot = await make_lot(admin)
    paid = await qualified_bidder(admin, lot, "甲公司")
    unpaid = (await admin.post(f"/api/lots/{lot}/bidders", json={"name": "乙公司"})).json()
    watcher = bearer(SUPERVISOR)

    listed = (await public.get(f"/api/lots/{lot}/bidders", headers=watcher)).json()["bidders"]
    by_plate = {b["plate"]: b for b in listed}
    assert by_plate[paid["plate"]] | {"bidder_id": None} == {
        "bidder_id": None, "plate": paid["plate"], "name": None,  # until the close (R9)
        "deposit": 10_000_000, "qualified": True,
    }  # fmt: skip
    assert by_plate[unpaid["plate"]]["qualified"] is False
    assert (await public.get(f"/api/lots/{lot}/bidders")).status_code == 401
    assert (await public.get(f"/api/lots/{lot}/audit", headers=watcher)).status_code == 200

    register = await public.post(f"/api/lots/{lot}/bidders", json={"name": "丙"}, headers=watcher)
    assert register.status_code == 403 and register.json()["code"] == "FORBIDDEN"
    assert len((await admin.get(f"/api/lots/{lot}/bidders")).json()["bidders"]) == 2


async def test_a_supervisor_in_the_room_sees_private_entries_and_cannot_act(
    served: str, admin: httpx.AsyncClient
) -> None:
    lot = await make_lot(admin)
    bidder = await qualified_bidder(admin, lot, "甲公司")
    async with client(served, lot, "openbid.json.v1") as watching:
        welcome = await watching.hello(token=SUPERVISOR, since=0)
        assert welcome["role"] == "supervisor"
        deposit = await watching.until(lambda m: m.get("kind") == "deposit")
        assert deposit[-1]["plate"] == bidder["plate"]  # the public never sees deposits
        await watching.send({"type": "bid", "bid_id": "s1", "price": 34_380_000})
        refused = await watching.until(lambda m: m["type"] == "nack")
        assert refused[-1]["code"] == "FORBIDDEN"


async def test_the_staff_list_an_openings_bidders_and_a_supervisor_cannot_drive_it(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    opening = await new_opening(admin)
    first = await enrol(admin, opening, "甲")
    absent = (await admin.post(f"/api/openings/{opening}/bidders", json={"name": "乙"})).json()
    watcher = bearer(SUPERVISOR)
    listed = await public.get(f"/api/openings/{opening}/bidders", headers=watcher)
    by_plate = {b["plate"]: b for b in listed.json()["bidders"]}
    assert by_plate[first["plate"]]["envelope"] is True
    assert by_plate[absent["plate"]]["envelope"] is False
    assert by_plate[absent["plate"]]["name"] == "乙"

    sent = await public.post(
        f"/api/openings/{opening}/commands", json={"type": "advance"}, headers=watcher
    )
    assert sent.status_code == 403 and sent.json()["code"] == "FORBIDDEN"
    async with client(served, opening, "openbid.json.v1", room="openings") as watching:
        assert (await watching.hello(token=SUPERVISOR))["role"] == "supervisor"
        await watching.send({"type": "advance"})
        refused = await watching.until(lambda m: m["type"] == "nack")
        assert refused[-1]["code"] == "FORBIDDEN"


async def test_the_hall_is_read_once_for_many_callers(monkeypatch: Any, tmp_path: Path) -> None:
    """Review M7: every anonymous request read every listed lot and opening. A store and a
    server of its own, no timer: nothing else runs a script meanwhile."""
    monkeypatch.setattr(server.web.hall, "HALL_FRESH_S", 3600.0)
    with EmbeddedValkey(tmp_path, persist=False) as store:
        async with (
            serving(store.url, timer=False) as url,
            admin_client(url) as admin,
            httpx.AsyncClient(base_url=url) as public,
        ):
            redis = Redis.from_url(store.url)
            await make_lot(admin)  # a creation makes the next read fresh
            first = (await public.get("/api/hall")).json()
            calls = await scripts_run(redis)
            for _ in range(20):
                assert (await public.get("/api/hall")).json()["lots"] == first["lots"]
            assert await scripts_run(redis) == calls  # no lot was read again
            lot_id = await make_lot(admin)
            listed = (await public.get("/api/hall")).json()["lots"]
            assert lot_id in [row["lot_id"] for row in listed]
            await redis.aclose()


async def scripts_run(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return sum(
        v["calls"]
        for k, v in stats.items()
        if k.split("|")[0] in ("cmdstat_evalsha", "cmdstat_eval")
    )
