"""Acknowledge bids, SIGKILL the server and its Valkey, restart on the same data dir:
every acknowledged bid is there, and the lot goes on."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from tests.conftest import ADMIN
from tests.server.helpers import bearer, make_lot, openbid_serve, qualified_bidder


async def test_acknowledged_bids_survive_sigkill(tmp_path: Path) -> None:
    acked: list[dict[str, int]] = []
    async with openbid_serve(tmp_path) as (url, server):
        async with httpx.AsyncClient(base_url=url, headers=bearer(ADMIN)) as admin:
            lot = await make_lot(admin)
            bidder = await qualified_bidder(admin, lot, "甲")
            for i in range(8):  # under the per-bidder rate limit
                body = {"bid_id": str(i), "price": 34_380_000 + i * 500_000}
                answer = await admin.post(f"/api/lots/{lot}/bids", json=body,
                                          headers=bearer(bidder["token"]))  # fmt: skip
                acked.append(answer.json())
        valkey_pid = int((tmp_path / "valkey" / "valkey.pid").read_text())
        server.send_signal(signal.SIGKILL)
        os.kill(valkey_pid, signal.SIGKILL)
        await server.wait()
    assert all(a["accepted"] for a in acked)
    async with openbid_serve(tmp_path) as (url, _), httpx.AsyncClient(base_url=url) as public:
        events = (await public.get(f"/api/lots/{lot}/events?since=0")).json()["events"]
        logged = {e["seq"]: e["price"] for e in events if e["kind"] == "bid"}
        assert all(logged[a["seq"]] == a["price"] for a in acked)
        body = {"bid_id": "after", "price": acked[-1]["price"] + 500_000}
        on = await public.post(f"/api/lots/{lot}/bids", json=body,
                               headers=bearer(bidder["token"]))  # fmt: skip
        assert on.json()["accepted"] is True and on.json()["seq"] > acked[-1]["seq"]
