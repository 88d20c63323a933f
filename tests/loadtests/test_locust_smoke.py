"""A short Locust run against the real server, headless, alone and distributed (a master
and a worker): no request fails, no acknowledgement is lost, and every bid Locust saw
acknowledged is in the lot's log and the other way round. Never a timing."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from pathlib import Path

import httpx

from server.store.embedded import free_port
from tests.conftest import ADMIN, TIMEOUT
from tests.server.helpers import make_lot

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
RUN_S = 6
THREE_BIDDERS = json.dumps([{"user_class_name": "Bidder", "fixed_count": 3}])
FOUR_BIDDERS = json.dumps([{"user_class_name": "Bidder", "fixed_count": 4}])  # two a worker


def locust(base: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", base,
            "--admin-token", ADMIN, "--headless", "--only-summary", *extra]  # fmt: skip


async def run(*command: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )


async def finished(process: asyncio.subprocess.Process) -> tuple[int, str]:
    async with asyncio.timeout(RUN_S + 4 * TIMEOUT):
        out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


def stats(prefix: Path) -> dict[str, dict[str, int]]:
    """Locust's final counts by name, from `--json-file`, written once every user has stopped
    (its CSV is a snapshot taken each second, so the last answers may miss it)."""
    entries = json.loads(Path(f"{prefix}.json").read_text())
    return {e["name"]: e for e in entries}


def csv_names(prefix: Path) -> set[str]:
    with open(f"{prefix}_stats.csv", newline="") as rows:
        return {row["Name"] for row in csv.DictReader(rows)}


async def test_a_local_run_has_no_failures_and_loses_no_acknowledgement(
    served: str, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    now = (await admin.get("/api/health")).json()["server_now"]
    lot = await make_lot(admin, opens_at=now, free_ends_at=now + 5000, countdown_s=3)
    opening = {"title": "压测开标", "bid_deadline": now + 3_600_000, "decrypt_window_s": 600}
    opening_id = (await admin.post("/api/openings", json=opening)).json()["opening_id"]
    command = locust(served, "-u", "10", "-r", "10", "-t", f"{RUN_S}s", "--lot", lot,
                     "--opening", opening_id, "--config-users", THREE_BIDDERS,
                     "--csv", str(tmp_path / "smoke"),
                     "--json-file", str(tmp_path / "smoke"))  # fmt: skip
    code, out = await finished(await run(*command))
    assert code == 0, out
    seen = stats(tmp_path / "smoke")
    assert sum(e["num_failures"] for e in seen.values()) == 0, out
    acked = seen["bid ack"]["num_requests"]
    assert acked > 0 and seen["event bid"]["num_requests"] > 0 and seen["ping"]["num_requests"] > 0
    assert {"bid ack", "event bid", "ping", "welcome"} <= csv_names(tmp_path / "smoke")
    events = (await admin.get(f"/api/lots/{lot}/events", params={"since": 0})).json()["events"]
    logged = [e for e in events if e["kind"] == "bid"]
    assert len(logged) == acked, out  # each ack is in the log, each logged bid was acked


async def test_a_master_and_two_workers_share_the_lot_the_master_creates(
    served: str, tmp_path: Path
) -> None:
    port = free_port()
    master = await run(*locust(served, "--master", "--master-bind-port", str(port),
                               "--expect-workers", "2", "-u", "8", "-r", "8", "-t", f"{RUN_S}s",
                               "--free-s", "4", "--countdown-s", "3",
                               "--config-users", FOUR_BIDDERS,
                               "--json-file", str(tmp_path / "dist")))  # fmt: skip
    workers = [await run(*locust(served, "--worker", "--master-port", str(port)))
               for _ in range(2)]  # fmt: skip
    code, out = await finished(master)
    for worker in workers:
        await finished(worker)
    assert code == 0, out
    seen = stats(tmp_path / "dist")
    assert sum(e["num_failures"] for e in seen.values()) == 0, out  # each bidder qualified
    assert seen["bid ack"]["num_requests"] > 0  # the workers bid on the master's lot
