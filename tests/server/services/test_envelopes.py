"""An opening's envelopes against a tenderer who floods, an insider who swaps a stored blob,
and a client that hands its key over early (security review H1, L4, M1, M4)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from redis.asyncio import Redis

from auction.opening.envelope import seal
from server.limits import Limits
from tests.conftest import TIMEOUT, admin_client, serving
from tests.server.helpers import bearer
from tests.server.services.test_openings import PRICES, key_text, new_opening, phase_is
from tests.server.wsclient import client

MiB = 1 << 20


async def tenderer(admin: httpx.AsyncClient, opening_id: str, name: str) -> dict[str, Any]:
    made = await admin.post(f"/api/openings/{opening_id}/bidders", json={"name": name})
    assert made.status_code == 201, made.text
    found: dict[str, Any] = made.json()
    return found | {"auth": bearer(found["token"])}


def sealed_upload(opening_id: str, bidder_id: str, attached: int = 100) -> dict[str, Any]:
    bid = {"price": PRICES["甲"], "duration_days": 540, "quality": "合格"}
    upload: dict[str, Any] = seal(
        opening_id, bidder_id, bid, ("商务标.pdf", os.urandom(attached))
    ).upload()
    return upload


async def upload(
    http: httpx.AsyncClient, opening_id: str, who: dict[str, Any], body: dict[str, Any]
) -> httpx.Response:
    return await http.post(f"/api/openings/{opening_id}/envelopes", json=body, headers=who["auth"])


async def blobs(redis: Redis, opening_id: str) -> dict[bytes, bytes]:
    found = cast(dict[bytes, bytes], await redis.hgetall(f"ob:{{{opening_id}}}:env"))
    return found


@pytest.fixture
async def budgeted(valkey_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose budgets a test can reach with a few 1 MiB uploads."""
    limits = Limits(envelopes_per_s=100, envelope_burst=100, envelope_budget=int(3.5 * MiB),
                    opening_envelopes=int(2.5 * MiB))  # fmt: skip
    async with serving(valkey_url, limits) as url, admin_client(url) as admin:
        yield admin


async def test_a_tenderer_keeps_one_envelope_and_floods_are_rate_limited(
    admin: httpx.AsyncClient, redis: Redis
) -> None:
    opening_id = await new_opening(admin)
    who = await tenderer(admin, opening_id, "甲")
    answers = [
        (await upload(admin, opening_id, who, sealed_upload(opening_id, who["bidder_id"])))
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json()["code"] == "RATE_LIMITED"
    kept = await blobs(redis, opening_id)
    assert len(kept) == 1  # the third replaced the first two
    me = (await admin.get(f"/api/openings/{opening_id}", headers=who["auth"])).json()["me"]
    assert list(kept) == [f"{who['bidder_id']}:{me['envelope']}".encode()]
    exported = (await admin.get(f"/api/openings/{opening_id}/audit")).json()
    assert list(exported["envelopes"]) == [me["envelope"]]


async def test_byte_budgets_bound_the_store_and_refuse_with_a_code(
    budgeted: httpx.AsyncClient, redis: Redis
) -> None:
    admin = budgeted
    opening_id = await new_opening(admin)
    first, second = [await tenderer(admin, opening_id, n) for n in ("甲", "乙")]
    memory: list[int] = []
    for _ in range(3):  # 3 × ¾ MiB, a MiB each sealed (base64 inside): within 甲's 3.5 MiB
        sent = await upload(
            admin, opening_id, first, sealed_upload(opening_id, first["bidder_id"], 3 * MiB // 4)
        )
        assert sent.status_code == 200, sent.text
        memory.append(cast(int, await redis.memory_usage(f"ob:{{{opening_id}}}:env")))
    over = await upload(
        admin, opening_id, first, sealed_upload(opening_id, first["bidder_id"], 3 * MiB // 4)
    )
    assert over.status_code == 413 and over.json()["code"] == "TOO_LARGE"
    assert max(memory) < 1.5 * MiB  # one envelope held: each replaced the last
    full = await upload(
        admin, opening_id, second, sealed_upload(opening_id, second["bidder_id"], 3 * MiB // 2)
    )
    assert full.status_code == 413  # the opening would hold 3 MiB: past its 2.5
    assert len(await blobs(redis, opening_id)) == 1  # nothing of the refused kept


async def test_a_refused_upload_of_anothers_envelope_does_not_drop_it(
    served: str, admin: httpx.AsyncClient, redis: Redis
) -> None:
    opening_id = await new_opening(admin)
    victim, thief = await tenderer(admin, opening_id, "甲"), await tenderer(admin, opening_id, "乙")
    body = sealed_upload(opening_id, victim["bidder_id"])
    assert (await upload(admin, opening_id, victim, body)).status_code == 200
    async with client(served, opening_id, "openbid.json.v1", room="openings") as viewer:
        await viewer.hello()
        await viewer.until(lambda m: m.get("kind") == "phase")  # the deadline passed
    late = await upload(admin, opening_id, thief, body)
    assert late.status_code == 409 and late.json()["code"] == "PHASE_CLOSED"
    assert len(await blobs(redis, opening_id)) == 1  # the victim's is still there


async def test_a_nonce_must_be_twelve_bytes(admin: httpx.AsyncClient) -> None:
    opening_id = await new_opening(admin)
    who = await tenderer(admin, opening_id, "甲")
    body = sealed_upload(opening_id, who["bidder_id"]) | {"nonce": base64.b64encode(b"x").decode()}
    answer = await upload(admin, opening_id, who, body)
    assert answer.status_code == 422 and answer.json()["field"] == "nonce"


async def test_a_key_sent_early_opens_nothing_and_is_not_kept(
    admin: httpx.AsyncClient, redis: Redis
) -> None:
    opening_id = await new_opening(admin)
    who = await tenderer(admin, opening_id, "甲")
    bid = {"price": 123_456_789, "duration_days": 90, "quality": "合格"}
    sealed = seal(opening_id, who["bidder_id"], bid, None)
    assert (await upload(admin, opening_id, who, sealed.upload())).status_code == 200
    early = await admin.post(
        f"/api/openings/{opening_id}/commands",
        json={"type": "decrypt", "key": key_text(sealed)},
        headers=who["auth"],
    )
    assert early.status_code == 409 and early.json()["code"] == "PHASE_CLOSED"
    exported = json.dumps((await admin.get(f"/api/openings/{opening_id}/audit")).json())
    refused = [
        e["entry"] for e in json.loads(exported)["entries"] if e["entry"]["kind"] == "refused"
    ]
    assert refused[-1]["command"] == "decrypt" and set(refused[-1]["args"]) == {
        "reason",
        "key_sha256",
    }
    assert key_text(sealed) not in exported and "123456789" not in exported
    stored = b"".join(
        [await redis.dump(k) or b"" async for k in redis.scan_iter(match=f"ob:{{{opening_id}}}:*")]
    )
    assert key_text(sealed).encode() not in stored


async def test_a_blob_changed_in_the_store_fails_on_the_platforms_side(
    served: str, admin: httpx.AsyncClient, redis: Redis, tmp_path: Path
) -> None:
    """Review M4: the store's copy is replaced after the deadline. The bidder's right key
    must not read as the bidder's failure (撤销); verify replays the same."""
    opening_id = await new_opening(admin, min_bidders=1)
    who = await tenderer(admin, opening_id, "甲")
    bid = {"price": 1000, "duration_days": 90, "quality": "合格"}
    sealed = seal(opening_id, who["bidder_id"], bid, None)
    assert (await upload(admin, opening_id, who, sealed.upload())).status_code == 200
    command = f"/api/openings/{opening_id}/commands"
    async with client(served, opening_id, "openbid.json.v1", room="openings") as viewer:
        await viewer.hello()
        await viewer.until(phase_is("sign_in"))
    assert (
        await admin.post(command, json={"type": "sign_in"}, headers=who["auth"])
    ).status_code == 200
    for to in ("bidders_published", "decryption"):
        assert (await admin.post(command, json={"type": "advance", "to": to})).status_code == 200
    env = f"ob:{{{opening_id}}}:env"
    (field,) = await redis.hkeys(env)
    stored = cast(bytes, await redis.hget(env, field))
    await redis.hset(env, field, stored[:-40] + os.urandom(40))  # same length, other bytes
    opened = await admin.post(
        command, json={"type": "decrypt", "key": key_text(sealed)}, headers=who["auth"]
    )
    assert opened.json()["status"] == "failed" and opened.json()["reason"] == "STORAGE_MISMATCH"
    me = (await admin.get(f"/api/openings/{opening_id}", headers=who["auth"])).json()["me"]
    assert me["side"] == "platform"
    path = tmp_path / "audit.json"
    path.write_text((await admin.get(f"/api/openings/{opening_id}/audit")).text)
    verified = subprocess.run([sys.executable, "-m", "server.cli", "verify", str(path)],
                              capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    forged = json.loads(path.read_text())
    for row in forged["entries"]:  # the same log, blaming the bidder instead
        if row["entry"].get("reason") == "STORAGE_MISMATCH":
            row["entry"] |= {"reason": "BAD_KEY", "side": "bidder"}
    path.write_text(json.dumps(forged))
    blamed = subprocess.run([sys.executable, "-m", "server.cli", "verify", str(path)],
                            capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    assert blamed.returncode == 1


async def test_concurrent_uploads_keep_the_current_envelopes_blob(
    budgeted: httpx.AsyncClient, redis: Redis
) -> None:
    """Found in review: X kept, then Y and X again at once; Y's clean-up dropped X while
    X's decision made it current again: a blob-less envelope, a manufactured 'platform
    fault' at decryption. Whatever the order, the current envelope keeps its blob."""
    admin = budgeted
    opening_id = await new_opening(admin)
    who = await tenderer(admin, opening_id, "甲")
    x = sealed_upload(opening_id, who["bidder_id"])
    for _ in range(4):
        assert (await upload(admin, opening_id, who, x)).status_code == 200
        y = sealed_upload(opening_id, who["bidder_id"])
        answers = await asyncio.gather(*(upload(admin, opening_id, who, b) for b in (y, x, y)))
        codes = [a.status_code for a in answers]
        assert 200 in codes and set(codes) <= {200, 409}  # one at a time: CONFLICT meanwhile
        refused = [a.json()["code"] for a in answers if a.status_code == 409]
        assert set(refused) <= {"CONFLICT"}
        me = (await admin.get(f"/api/openings/{opening_id}", headers=who["auth"])).json()["me"]
        kept = await blobs(redis, opening_id)
        assert list(kept) == [f"{who['bidder_id']}:{me['envelope']}".encode()]
