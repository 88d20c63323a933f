"""The transparency log anchored in time: a server given a time-stamping authority (a local
one, `openssl ts -reply` behind HTTP: tests/server/tsa.py) gets an RFC 3161 token over its
checkpoints, serves it and puts it in its exports, and `openbid verify --tsa-cert` checks
it; a TSA that is down or silent never stops the log, and anchoring resumes when it is back."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives.serialization import Encoding
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from server.cli import main
from server.store.anchors import Anchors
from server.store.embedded import EmbeddedValkey
from server.store.keys import TLOG_KEYS
from tests.conftest import LOG_SIGNER, TIMEOUT, admin_client, serving
from tests.server.helpers import bearer, lot_in_limited, make_lot
from tests.server.tsa import LocalTSA, local_tsa, make_ca

INTERVAL_S = 0.05  # between two requests to the TSA, in these tests


@pytest.fixture
async def tsa() -> AsyncIterator[LocalTSA]:
    async with local_tsa() as running:
        yield running


async def anchored(redis: Redis, size: int) -> None:
    """Wait until a checkpoint of `size` leaves or more is anchored: the store tells of
    each anchor it keeps (a keyspace event on the anchored sizes)."""
    await redis.config_set("notify-keyspace-events", "Kz")
    pubsub = redis.pubsub()
    await pubsub.subscribe(f"__keyspace@0__:{TLOG_KEYS['anchored']}")
    try:
        async with asyncio.timeout(TIMEOUT):
            while (await Anchors(redis).latest_size() or -1) < size:
                await pubsub.get_message(timeout=TIMEOUT)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


def outcome(
    folder: Path,
    document: dict[str, Any],
    tsa_cert: Path,
    capsys: pytest.CaptureFixture[str],
    anchor: dict[str, Any] | None = None,
) -> tuple[int, str]:
    """`openbid verify --key K --tsa-cert C [--anchor A] EXPORT`: its exit code and what it
    printed."""
    key = folder / "log.vkey"
    key.write_text(LOG_SIGNER.vkey() + "\n")
    export = folder / f"{secrets.token_hex(4)}.json"
    export.write_text(json.dumps(document, ensure_ascii=False))
    command = ["verify", str(export), "--key", str(key), "--tsa-cert", str(tsa_cert)]
    if anchor is not None:
        given = folder / f"anchor-{secrets.token_hex(4)}.json"
        given.write_text(json.dumps(anchor))
        command += ["--anchor", str(given)]
    code = main(command)
    said = capsys.readouterr()
    return code, said.out + said.err


def with_anchor(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    proof = document["transparency"]
    return document | {"transparency": proof | {"anchor": proof["anchor"] | changes}}


def changed_time(token: str) -> str:
    """The token with its genTime a year earlier, as a TSA's forger would want it."""
    der = base64.b64decode(token)
    info = cms.ContentInfo.load(der)["content"]["encap_content_info"]["content"].parsed
    written = bytes(info["gen_time"].contents)
    earlier = str(int(written[:4]) - 1).encode() + written[4:]
    assert der.count(written) == 1
    return base64.b64encode(der.replace(written, earlier)).decode()


async def test_a_checkpoint_is_anchored_and_verify_checks_it_against_the_tsa(
    tsa: LocalTSA, valkey_url: str, redis: Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        serving(valkey_url, tsa_url=tsa.url, anchor_interval_s=INTERVAL_S) as url,
        admin_client(url) as admin,
    ):
        lot, (a, _) = await lot_in_limited(admin, "甲", "乙", countdown_s=60)
        first = (await admin.get(f"/api/lots/{lot}/audit")).json()
        await anchored(redis, first["transparency"]["size"])
        latest = (await admin.get("/api/log/anchor")).json()
        assert latest["size"] >= first["transparency"]["size"]
        assert latest["checkpoint"].startswith(f"{LOG_SIGNER.name}\n{latest['size']}\n")
        same = (await admin.get(f"/api/log/anchor?size={latest['size']}")).json()
        assert same == latest
        missing = await admin.get(f"/api/log/anchor?size={latest['size'] + 10**6}")
        assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
        bad = await admin.get("/api/log/anchor?size=x")
        assert (bad.status_code, bad.json()["code"]) == (422, "BAD_MESSAGE")

        tsa.hold()  # the log grows past the anchor; the TSA is slow to anchor the new size
        held = tsa.requests
        bid = {"bid_id": "1", "price": 34_380_000}
        placed = await admin.post(f"/api/lots/{lot}/bids", json=bid, headers=bearer(a["token"]))
        assert placed.status_code == 200, placed.text
        document = (await admin.get(f"/api/lots/{lot}/audit")).json()
        await tsa.until_requests(held + 1)
        carried = document["transparency"]["anchor"]
        assert carried["size"] < document["transparency"]["size"]
        assert carried["consistency"]["to"] == document["transparency"]["size"]
        tsa.release()
        await anchored(redis, document["transparency"]["size"])
        later = await admin.get(
            f"/api/log/anchor?consistent_with={document['transparency']['size']}"
        )
        later_anchor = later.json()

    code, said = outcome(tmp_path, document, tsa.ca_pem, capsys)
    assert code == 0 and "; anchored: the log's first" in said and "OpenBid test TSA" in said
    code, said = outcome(tmp_path, document, tsa.tsa_pem, capsys)  # the TSA's own certificate
    assert code == 0, said
    code, said = outcome(tmp_path, document, tsa.ca_pem, capsys, later_anchor)
    assert code == 0 and "; anchored: this history logged by" in said

    other = tmp_path / "other-ca.pem"
    other.write_bytes(make_ca("OpenBid test TSA CA")[0].public_bytes(Encoding.PEM))  # the same name
    code, said = outcome(tmp_path, document, other, capsys)
    assert code == 1 and "not signed by the given TSA certificate" in said

    swapped = with_anchor(document, token=later_anchor["token"])  # a token over another note
    code, said = outcome(tmp_path, swapped, tsa.ca_pem, capsys)
    assert code == 1 and "over other bytes than this checkpoint" in said

    backdated = with_anchor(document, token=changed_time(carried["token"]))
    code, said = outcome(tmp_path, backdated, tsa.ca_pem, capsys)
    assert code == 1 and "signature does not hold" in said

    bare = {k: v for k, v in carried.items() if k != "consistency"}  # of a smaller tree
    code, said = outcome(tmp_path, document, tsa.ca_pem, capsys, bare)
    assert code == 1 and "need the proof GET /api/log/consistency?from=" in said

    proof = carried["consistency"]["proof"]
    forged = [*proof[:-1], base64.b64encode(bytes(32)).decode()]
    broken = with_anchor(document, consistency=carried["consistency"] | {"proof": forged})
    code, said = outcome(tmp_path, broken, tsa.ca_pem, capsys)
    assert code == 1 and "not one log's" in said

    impostor = LOG_SIGNER.checkpoint(carried["size"], bytes(32))  # signed, but another tree
    resigned = with_anchor(document, checkpoint=impostor)
    code, said = outcome(tmp_path, resigned, tsa.ca_pem, capsys)
    assert code == 1 and "over other bytes than this checkpoint" in said


async def test_a_tsa_down_or_silent_leaves_the_log_working_and_anchoring_resumes(
    tsa: LocalTSA, valkey_url: str, redis: Redis
) -> None:
    tsa.up = False
    async with (
        serving(valkey_url, tsa_url=tsa.url, anchor_interval_s=INTERVAL_S) as url,
        admin_client(url) as admin,
    ):
        lot, (a, b) = await lot_in_limited(admin, "甲", "乙", countdown_s=60)
        await tsa.until_requests(tsa.requests + 2)  # refused, and asked again
        before = (await admin.get(f"/api/lots/{lot}/audit")).json()["transparency"]["size"]
        placed = await admin.post(f"/api/lots/{lot}/bids", headers=bearer(a["token"]),
                                  json={"bid_id": "1", "price": 34_380_000})  # fmt: skip
        assert placed.status_code == 200, placed.text
        grown = (await admin.get(f"/api/lots/{lot}/audit")).json()["transparency"]["size"]
        assert grown > before  # decided, logged, in a signed checkpoint
        assert await failures(admin) >= 2

        tsa.hold()  # back, but silent: a request waits on it while bids go on
        tsa.up = True
        await tsa.until_requests(tsa.requests + 1)
        answered = tsa.answered
        placed = await admin.post(f"/api/lots/{lot}/bids", headers=bearer(b["token"]),
                                  json={"bid_id": "2", "price": 34_880_000})  # fmt: skip
        assert placed.status_code == 200, placed.text
        document = (await admin.get(f"/api/lots/{lot}/audit")).json()
        assert document["entries"][-1]["entry"]["price"] == 34_880_000
        assert tsa.answered == answered

        tsa.release()
        await anchored(redis, document["transparency"]["size"])
        latest = (await admin.get("/api/log/anchor")).json()
        assert latest["size"] >= document["transparency"]["size"]


async def failures(admin: httpx.AsyncClient) -> float:
    text = (await admin.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "openbid_anchors_total" and sample.labels["outcome"] == "failed"
    )


async def test_a_log_never_anchored_has_no_anchor_and_verify_says_so(
    tsa: LocalTSA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="ob-bare-") as store,
        EmbeddedValkey(Path(store), persist=False) as valkey,
    ):
        async with serving(valkey.url) as url, admin_client(url) as admin:
            none = await admin.get("/api/log/anchor")
            assert (none.status_code, none.json()["code"]) == (404, "NOT_FOUND")
            lot, _ = await lot_in_limited(admin, "甲", "乙", countdown_s=60)
            document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert "anchor" not in document["transparency"]
    code, said = outcome(tmp_path, document, tsa.ca_pem, capsys)
    assert code == 1 and "carries no anchor" in said


async def test_a_checkpoint_another_process_signed_is_anchored_too(
    tsa: LocalTSA, valkey_url: str, redis: Redis
) -> None:
    """Whoever signs a checkpoint, the process with the TSA anchors it: here a process
    without one (a worker configured otherwise, another server on the store) signs first,
    so the anchoring process is never told of a signing of its own."""
    async with (
        serving(valkey_url, tsa_url=tsa.url, anchor_interval_s=INTERVAL_S),
        serving(valkey_url) as plain,
        admin_client(plain) as other,
    ):
        lot = await make_lot(other)
        signed = (await other.get(f"/api/lots/{lot}/audit")).json()["transparency"]["size"]
        await anchored(redis, signed)
