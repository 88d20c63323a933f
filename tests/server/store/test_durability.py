"""Acknowledge bids, SIGKILL the server and its Valkey, restart on the same data dir:
every acknowledged bid is there, and the lot goes on. The embedded Valkey has one owner: a
Valkey left running by a killed server is stopped before a new one starts on its data, a
second server on a data dir in use is refused, and Ctrl-C or SIGTERM stops the server, then
Valkey."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, TIMEOUT
from tests.server.helpers import bearer, make_lot, openbid_serve, qualified_bidder
from tests.server.wsclient import client


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a reaper that never comes)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def bids(url: str, lot: str, token: str, prices: list[int]) -> list[dict[str, int]]:
    async with httpx.AsyncClient(base_url=url, headers=bearer(token)) as bidder:
        answers = [await bidder.post(f"/api/lots/{lot}/bids", json={"bid_id": f"{p}", "price": p})
                   for p in prices]  # fmt: skip
    return [a.json() for a in answers]


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


async def test_a_valkey_left_by_a_killed_server_is_stopped_before_a_new_one_starts(
    tmp_path: Path,
) -> None:
    async with openbid_serve(tmp_path) as (url, server):
        async with httpx.AsyncClient(base_url=url, headers=bearer(ADMIN)) as admin:
            lot = await make_lot(admin)
            bidder = await qualified_bidder(admin, lot, "甲")
        acked = await bids(url, lot, bidder["token"], [34_380_000, 34_880_000])
        orphan = int((tmp_path / "valkey" / "valkey.pid").read_text())
        server.send_signal(signal.SIGKILL)  # the OOM killer: the server alone
        await server.wait()
    assert running(orphan)  # still serving the data dir, with nobody to stop it
    async with openbid_serve(tmp_path, log=tmp_path / "restart.log") as (url, _):
        assert not running(orphan)  # stopped first: two servers never share one AOF
        assert f"stopping valkey-server {orphan}" in (tmp_path / "restart.log").read_text()
        assert int((tmp_path / "valkey" / "valkey.pid").read_text()) != orphan
        after = await bids(url, lot, bidder["token"], [35_380_000])
        async with httpx.AsyncClient(base_url=url) as public:
            events = (await public.get(f"/api/lots/{lot}/events?since=0")).json()["events"]
    assert [a["seq"] for a in acked] == [e["seq"] for e in events if e["kind"] == "bid"][:2]
    assert after[0]["accepted"] is True and after[0]["seq"] > acked[-1]["seq"]


async def test_a_second_server_on_a_data_dir_in_use_is_refused(tmp_path: Path) -> None:
    async with openbid_serve(tmp_path) as (url, _):
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "serve", "--port", "0",
            "--data-dir", str(tmp_path), stderr=asyncio.subprocess.PIPE,
            env=os.environ | {"OPENBID_ADMIN_TOKEN": ADMIN},
        )  # fmt: skip
        _, said = await asyncio.wait_for(second.communicate(), TIMEOUT)
        assert second.returncode == 2
        assert b"in use" in said and b"--data-dir" in said
        async with httpx.AsyncClient(base_url=url, headers=bearer(ADMIN)) as admin:
            await make_lot(admin)  # the first server and its Valkey go on


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
async def test_ctrl_c_or_sigterm_stops_the_server_then_its_valkey(
    tmp_path: Path, stop: str
) -> None:
    log = tmp_path / "serve.log"
    async with openbid_serve(tmp_path / "data", log=log) as (url, server):
        async with httpx.AsyncClient(base_url=url, headers=bearer(ADMIN)) as admin:
            lot = await make_lot(admin)
        async with client(url, lot) as viewer:  # a room with its pub/sub open
            await viewer.hello()
            valkey = int((tmp_path / "data" / "valkey" / "valkey.pid").read_text())
            if stop == "ctrl-c":
                os.killpg(server.pid, signal.SIGINT)  # a terminal signals the whole group
            else:
                server.terminate()  # docker stop, systemd: the main process alone
            assert await asyncio.wait_for(server.wait(), TIMEOUT) == 0
    assert not running(valkey)
    said = log.read_text()
    assert "Traceback" not in said and '"level": "warning"' not in said, said
