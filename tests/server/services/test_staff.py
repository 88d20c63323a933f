"""Staff who answer for what they do: personal credentials (over HTTP and from the command
line), the person named on every staff entry of the log, revocation, and the bank's
callback signed with HMAC."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
from typing import Any

import httpx
import pytest

from tests.conftest import SUPERVISOR, TIMEOUT, admin_client
from tests.server.helpers import bearer, make_lot


async def add(admin: httpx.AsyncClient, name: str, role: str) -> dict[str, Any]:
    made = await admin.post("/api/staff", json={"name": name, "role": role})
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found


async def entries(admin: httpx.AsyncClient, lot: str) -> list[dict[str, Any]]:
    return [row["entry"] for row in (await admin.get(f"/api/lots/{lot}/audit")).json()["entries"]]


def signed(secret: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    digest = hmac.new(bytes.fromhex(secret), raw, hashlib.sha256).hexdigest()
    return raw, {"x-openbid-signature": f"sha256={digest}", "content-type": "application/json"}


async def test_every_staff_entry_names_its_person(admin: httpx.AsyncClient, served: str) -> None:
    host = await add(admin, "王主持", "host")
    supervisor = await add(admin, "李监督", "supervisor")
    assert "hmac_secret" not in host and host["role"] == "host"
    async with admin_client(served) as first_host:
        first_host.headers["authorization"] = f"Bearer {host['token']}"
        lot = await make_lot(first_host)
        bidder = (await first_host.post(f"/api/lots/{lot}/bidders", json={"name": "甲"})).json()
        money = {"amount": 10_000_000, "kind": "cash", "ref": "r-1"}
        paid = await first_host.post(
            f"/api/lots/{lot}/bidders/{bidder['bidder_id']}/deposit", json=money
        )
        assert paid.json()["qualified"] is True
        asked = await admin.post(f"/api/lots/{lot}/suspend", json={"reason": "设备故障"},
                                 headers=bearer(supervisor["token"]))  # fmt: skip
        assert asked.status_code == 200
        await first_host.post(f"/api/lots/{lot}/resume", json={"reason": "已排除"})
        await admin.post(f"/api/lots/{lot}/resume", json={"reason": "同意"},
                         headers=bearer(supervisor["token"]))  # fmt: skip
    named = {(e["kind"], e.get("action")): e.get("actor") for e in await entries(admin, lot)}
    assert named[("registered", None)] == host["staff_id"]
    assert named[("deposit", None)] == host["staff_id"]
    assert named[("suspended", None)] == supervisor["staff_id"]
    assert named[("requested", "resume")] == host["staff_id"]
    assert named[("resumed", None)] == supervisor["staff_id"]

    await admin.post(f"/api/lots/{lot}/suspend", json={"reason": "再次"})  # the first host
    assert (await entries(admin, lot))[-1]["actor"] == "host-0"


async def test_a_revoked_credential_is_refused_and_its_person_stays_listed(
    admin: httpx.AsyncClient,
) -> None:
    host = await add(admin, "赵临时", "host")
    assert (await admin.get("/api/staff", headers=bearer(host["token"]))).status_code == 200
    revoked = await admin.delete(f"/api/staff/{host['staff_id']}")
    assert revoked.status_code == 200
    refused = await admin.post("/api/staff", json={"name": "x", "role": "host"},
                               headers=bearer(host["token"]))  # fmt: skip
    assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
    listed = {p["staff_id"]: p for p in (await admin.get("/api/staff")).json()["staff"]}
    assert listed[host["staff_id"]]["revoked_at"] is not None
    assert listed["host-0"]["role"] == "host" and listed["supervisor-0"]["role"] == "supervisor"
    again = await admin.delete("/api/staff/host-0")
    assert (again.status_code, again.json()["code"]) == (409, "CONFLICT")
    unknown = await admin.delete("/api/staff/s000000000000")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("who", "method", "path", "body"),
    [("supervisor", "POST", "/api/staff", {"name": "x", "role": "host"}),
     ("bank", "POST", "/api/lots", {}), ("bank", "GET", "/api/staff", None),
     ("supervisor", "DELETE", "/api/staff/host-0", None)],
)  # fmt: skip
async def test_each_role_does_only_its_own_work(
    admin: httpx.AsyncClient, who: str, method: str, path: str, body: Any
) -> None:
    token = SUPERVISOR if who == "supervisor" else (await add(admin, "银行", "bank"))["token"]
    answer = await admin.request(method, path, json=body, headers=bearer(token))
    assert (answer.status_code, answer.json()["code"]) == (403, "FORBIDDEN")


async def test_a_bank_callback_counts_only_when_signed(admin: httpx.AsyncClient) -> None:
    bank = await add(admin, "工商银行", "bank")
    lot = await make_lot(admin)
    bidder = (await admin.post(f"/api/lots/{lot}/bidders", json={"name": "乙"})).json()
    path = f"/api/lots/{lot}/bidders/{bidder['bidder_id']}/deposit"
    body = {"amount": 10_000_000, "kind": "cash", "ref": "icbc-77"}
    before = await entries(admin, lot)
    for headers in ({}, {"x-openbid-signature": "sha256=" + "0" * 64},
                    signed("11" * 32, body)[1]):  # fmt: skip
        answer = await admin.post(path, json=body, headers=bearer(bank["token"]) | headers)
        assert (answer.status_code, answer.json()["code"]) == (409, "BAD_SIGNATURE")
    assert await entries(admin, lot) == before  # nothing decided, nothing logged
    raw, headers = signed(bank["hmac_secret"], body)
    paid = await admin.post(path, content=raw, headers=bearer(bank["token"]) | headers)
    assert paid.status_code == 200 and paid.json()["qualified"] is True
    assert (await entries(admin, lot))[-1]["actor"] == bank["staff_id"]


async def test_a_bad_staff_request_is_refused_whole(admin: httpx.AsyncClient) -> None:
    for body in ({"name": "x", "role": "king"}, {"name": "", "role": "host"}, {"role": "host"}):
        answer = await admin.post("/api/staff", json=body)
        assert (answer.status_code, answer.json()["code"]) == (422, "BAD_MESSAGE")


async def test_the_command_line_adds_a_person_the_server_knows(
    served: str, valkey_url: str
) -> None:
    command = [sys.executable, "-m", "server.cli", "staff", "add", "钱出纳", "--role", "bank",
               "--redis-url", valkey_url]  # fmt: skip
    done = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(done.communicate(), TIMEOUT)
    assert done.returncode == 0
    lines = dict(line.split(": ", 1) for line in out.decode().splitlines()[1:])
    token = lines["token"].split(" ")[0]
    assert len(lines["hmac secret"].split(" ")[0]) == 64
    async with admin_client(served) as admin:
        listed = (await admin.get("/api/staff")).json()["staff"]
        assert any(p["name"] == "钱出纳" and p["role"] == "bank" for p in listed)
        lot = await make_lot(admin)
        bidder = (await admin.post(f"/api/lots/{lot}/bidders", json={"name": "丙"})).json()
        unsigned = await admin.post(f"/api/lots/{lot}/bidders/{bidder['bidder_id']}/deposit",
                                    json={"amount": 1, "kind": "cash", "ref": "x"},
                                    headers=bearer(token))  # fmt: skip
        assert unsigned.json()["code"] == "BAD_SIGNATURE"  # the bank's token, known
