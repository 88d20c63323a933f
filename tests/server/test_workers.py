"""`openbid serve --workers 2`: two processes on one port over one store. A bid decided
through one worker reaches viewers on both; the two timers close a lot once; a worker that
dies is started again; SIGTERM to the parent drains both (every viewer closed with 1001)
and the parent exits 0 with no worker left behind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from server.web.app import WORKER_HEADER
from server.workers import STOP_S
from streaming.rooms.wire import Close
from tests.conftest import ADMIN, LOG_SIGNER, TIMEOUT, admin_client
from tests.server.helpers import bearer, make_lot, qualified_bidder
from tests.server.wsclient import Client, client

WORKERS = 2
TRIES = 100  # viewers opened at most before one lands on each worker (the kernel chooses)
SERVING = re.compile(r"worker (\d+) serving \(pid (\d+)\)")
METRICS = "test-metrics-token-for-prometheus"


@dataclass(eq=False)
class Parent:
    """The parent process, and the events it and its workers log (JSON lines on stderr)."""

    process: asyncio.subprocess.Process
    url: str = ""
    events: list[str] = field(default_factory=list)
    _news: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def read_logs(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            with contextlib.suppress(ValueError):
                event = str(json.loads(line).get("event", ""))
                async with self._news:
                    self.events.append(event)
                    self._news.notify_all()

    async def logged(self, pattern: re.Pattern[str], after: int = 0) -> re.Match[str]:
        """The first event from the `after`th on that matches, once it is logged."""

        def first() -> re.Match[str] | None:
            return next(filter(None, map(pattern.search, self.events[after:])), None)

        async with asyncio.timeout(3 * TIMEOUT), self._news:
            await self._news.wait_for(lambda: first() is not None)
        found = first()
        assert found is not None
        return found

    async def pids(self) -> dict[int, int]:
        """Each worker's pid, the latest started: the parent logs it when the worker serves
        (the lines may still be on their way when the parent says it listens)."""

        def found() -> dict[int, int]:
            matches = (SERVING.search(event) for event in self.events)
            return {int(m[1]): int(m[2]) for m in matches if m}

        async with asyncio.timeout(TIMEOUT), self._news:
            await self._news.wait_for(lambda: len(found()) == WORKERS)
        return found()


@contextlib.asynccontextmanager
async def two_workers(data_dir: Path, redis_url: str, *more: str) -> AsyncIterator[Parent]:
    """`openbid serve --workers 2` (and `more` options) on a free port and the test store,
    until it listens."""
    command = [sys.executable, "-m", "server.cli", "serve", "--port", "0", "--workers",
               str(WORKERS), "--data-dir", str(data_dir), "--redis-url", redis_url,
               *more]  # fmt: skip
    env = {"OPENBID_LOG_KEY": LOG_SIGNER.skey(), "OPENBID_ADMIN_TOKEN": ADMIN,
           "OPENBID_METRICS_TOKEN": METRICS}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=os.environ | env,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    parent = Parent(process)
    reading = asyncio.create_task(parent.read_logs(process.stderr))  # a full pipe would block it
    try:
        async with asyncio.timeout(3 * TIMEOUT):  # two interpreters start on a loaded machine
            while not (line := (await process.stdout.readline()).decode()).startswith(
                "openbid listening"
            ):
                assert line, f"openbid serve exited before listening: {parent.events}"
        found = re.search(r"https?://\S+", line)
        assert found is not None and f"({WORKERS} workers)" in line
        parent.url = found.group(0)
        yield parent
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        await reading


async def viewers_on_each_worker(
    stack: contextlib.AsyncExitStack, url: str, lot_id: str
) -> dict[str, Client]:
    """A public viewer of the lot on each worker, said hello; they stay open with `stack`.
    Viewers are opened until each worker has taken one (the first worker free accepts);
    the spares are closed at once."""
    found: dict[str, Client] = {}
    for _ in range(TRIES):
        async with contextlib.AsyncExitStack() as spare:
            viewer = await spare.enter_async_context(client(url, lot_id))
            assert viewer.ws.response is not None
            worker = viewer.ws.response.headers[WORKER_HEADER]
            if worker not in found:
                await viewer.hello()
                found[worker] = viewer
                stack.push_async_exit(spare.pop_all())
        if len(found) == WORKERS:
            return found
    raise AssertionError(f"{TRIES} viewers all went to workers {sorted(found)}")


PER_ADDRESS = 4  # public viewers one address may hold on the whole server: 2 on each worker


async def refused_once_by_each(stack: contextlib.AsyncExitStack, url: str, lot_id: str) -> int:
    """Opens public viewers from this address, keeping each welcomed one open, until each
    worker has refused one (SERVER_BUSY, then 1013); the viewers welcomed on the way."""
    welcomed, refused = 0, set()
    for _ in range(TRIES):
        viewer = await stack.enter_async_context(client(url, lot_id))
        assert viewer.ws.response is not None
        said = await viewer.hello()
        if said["type"] == "welcome":
            welcomed += 1
            continue
        assert said["code"] == "SERVER_BUSY", said
        with pytest.raises(ConnectionClosed) as closed:
            await viewer.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == Close.TRY_LATER
        refused.add(viewer.ws.response.headers[WORKER_HEADER])
        if len(refused) == WORKERS:
            return welcomed
    raise AssertionError(f"{TRIES} viewers, refused only by workers {sorted(refused)}")


async def test_a_bid_through_one_worker_reaches_viewers_on_both(
    tmp_path: Path, valkey_url: str
) -> None:
    """Also: the cap on public viewers from one address is the whole server's, not each
    worker's (each keeps its share)."""
    async with (
        two_workers(
            tmp_path / "data", valkey_url, "--viewers-per-address", str(PER_ADDRESS)
        ) as parent,
        admin_client(parent.url) as admin,
        contextlib.AsyncExitStack() as stack,
    ):
        lot_id = await make_lot(admin)
        bidder = await qualified_bidder(admin, lot_id, "甲公司")
        viewers = await viewers_on_each_worker(stack, parent.url, lot_id)
        assert sorted(viewers) == ["0", "1"]
        sent = await admin.post(f"/api/lots/{lot_id}/bids", headers=bearer(bidder["token"]),
                                json={"bid_id": "1", "price": 34_380_000})  # fmt: skip
        assert sent.json()["accepted"], sent.text
        assert sent.headers[WORKER_HEADER] in viewers  # decided by one, watched on both
        for viewer in viewers.values():
            seen = await viewer.until(lambda m: m.get("kind") == "bid")
            assert seen[-1]["price"] == 34_380_000
        more = await refused_once_by_each(stack, parent.url, lot_id)
        assert len(viewers) + more == PER_ADDRESS


async def test_the_timers_of_both_workers_close_a_lot_once(tmp_path: Path, valkey_url: str) -> None:
    async with (
        two_workers(tmp_path / "data", valkey_url) as parent,
        admin_client(parent.url) as admin,
    ):
        lots = []
        for _ in range(3):  # each deadline passed is a race between the two timers
            now = (await admin.get("/api/health")).json()["server_now"]
            lot_id = await make_lot(admin, opens_at=now, free_ends_at=now + 1_000, countdown_s=1)
            bidder = await qualified_bidder(admin, lot_id, "甲公司")
            sent = await admin.post(f"/api/lots/{lot_id}/bids", headers=bearer(bidder["token"]),
                                    json={"bid_id": "1", "price": 34_380_000})  # fmt: skip
            assert sent.json()["accepted"], sent.text
            lots.append(lot_id)
        for lot_id in lots:
            async with client(parent.url, lot_id) as viewer:
                await viewer.hello(since=0)
                await viewer.until(lambda m: m.get("kind") == "closed")  # nobody asked it to
            rows = (await admin.get(f"/api/lots/{lot_id}/audit")).json()["entries"]
            entries = [row["entry"] for row in rows]
            kinds = [entry["kind"] for entry in entries]
            assert kinds.count("closed") == 1, kinds
            phases = [entry["phase"] for entry in entries if entry["kind"] == "phase"]
            assert phases and len(phases) == len(set(phases)), phases


async def test_a_worker_that_dies_is_started_again(tmp_path: Path, valkey_url: str) -> None:
    async with two_workers(tmp_path / "data", valkey_url) as parent:
        before = await parent.pids()
        assert sorted(before) == [0, 1]
        mark = len(parent.events)
        os.kill(before[0], signal.SIGKILL)
        await parent.logged(re.compile(rf"worker 0 \(pid {before[0]}\) exited with -9"), mark)
        again = await parent.logged(SERVING, mark)
        assert again[1] == "0" and int(again[2]) != before[0]
        with pytest.raises(ProcessLookupError):
            os.kill(before[0], 0)  # reaped by the parent
        answered: set[str] = set()
        for _ in range(TRIES):  # a fresh connection each time: either worker may take it
            async with httpx.AsyncClient(timeout=TIMEOUT) as fresh:
                health = await fresh.get(f"{parent.url}/api/health")
            assert health.status_code == 200
            answered.add(health.headers[WORKER_HEADER])
            if len(answered) == WORKERS:
                break
        assert answered == {"0", "1"}


async def test_sigterm_drains_every_worker_and_the_parent_exits_0(
    tmp_path: Path, valkey_url: str
) -> None:
    async with (
        two_workers(tmp_path / "data", valkey_url) as parent,
        admin_client(parent.url) as admin,
        contextlib.AsyncExitStack() as stack,
    ):
        lot_id = await make_lot(admin)
        viewers = await viewers_on_each_worker(stack, parent.url, lot_id)
        pids = await parent.pids()
        assert sorted(pids) == [0, 1]
        parent.process.send_signal(signal.SIGTERM)
        for viewer in viewers.values():
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await viewer.recv()
            assert closed.value.rcvd is not None, parent.events
            assert closed.value.rcvd.code == Close.GOING_AWAY  # 1001, as one process says it
        async with asyncio.timeout(STOP_S):
            assert await parent.process.wait() == 0, parent.events
        for pid in pids.values():
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)  # stopped, and reaped by the parent


def free_ports(count: int) -> int:
    """A base port with `count` free ports from it on (as the metrics listeners take them),
    below the ephemeral range, where the clients' own ports come from."""
    for _ in range(TRIES):
        base = random.randrange(20_000, 30_000)
        with contextlib.ExitStack() as held:
            try:
                for port in range(base, base + count):
                    held.enter_context(socket.create_server(("127.0.0.1", port)))
            except OSError:
                continue
        return base
    raise AssertionError(f"no {count} free ports in a row")


async def test_each_worker_serves_its_own_metrics_on_its_own_port(
    tmp_path: Path, valkey_url: str
) -> None:
    """Prometheus scrapes each worker where it alone answers (`--metrics-port`), with the
    metrics token; that port serves nothing else."""
    base = free_ports(WORKERS)
    async with (
        two_workers(tmp_path, valkey_url, "--metrics-port", str(base)) as parent,
        admin_client(parent.url) as admin,
        httpx.AsyncClient(timeout=TIMEOUT) as http,
    ):
        lot = await make_lot(admin)

        async def public_viewers(index: int) -> float:
            scraped = await http.get(f"http://127.0.0.1:{base + index}/metrics",
                                     headers=bearer(METRICS))  # fmt: skip
            assert scraped.status_code == 200, scraped.text
            found = re.search(r'openbid_ws_connections\{role="public"\} (\S+)', scraped.text)
            return float(found.group(1)) if found else 0.0

        async with client(parent.url, lot) as viewer:
            await viewer.hello()
            assert viewer.ws.response is not None
            took = int(viewer.ws.response.headers[WORKER_HEADER])
            counts = [await public_viewers(index) for index in range(WORKERS)]
            assert counts == [1.0 if index == took else 0.0 for index in range(WORKERS)]
        for index in range(WORKERS):
            url = f"http://127.0.0.1:{base + index}"
            assert (await http.get(f"{url}/metrics")).status_code == 401
            assert (await http.get(f"{url}/api/health")).status_code == 404  # nothing else
