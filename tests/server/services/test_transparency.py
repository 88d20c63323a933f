"""The transparency log from the outside: an export verifies against the server's key,
and each forgery an insider could make of it fails `openbid verify --key`; the proofs the
server serves hold; a witness keeps checkpoints and flags a server that forks its log."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
from redis.asyncio import Redis

from auction.checkpoint import Signer, Verifier
from auction.log import genesis, leaf, link
from auction.merkle import append, leaf_hash, verify_consistency, verify_inclusion
from server.cli import main
from server.store.embedded import EmbeddedValkey
from server.store.tlog import Tree
from server.web.app import connect
from tests.conftest import LOG_SIGNER, serving
from tests.server.helpers import lot_in_limited
from tests.server.test_verify import closed_lot, save

KEY = Verifier(LOG_SIGNER.vkey())


def rechained(document: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The export with `entries` in place of its own, every hash recomputed, the
    checkpoint and proof kept: what an insider who rewrote the history would hand over."""
    lot, previous, rows = document["lot_id"], genesis(document["lot_id"]), []
    for seq, entry in enumerate(entries, start=1):
        entry = entry | {"seq": seq}
        raw = msgpack.packb(entry)
        previous = link(previous, raw)
        rows.append({"seq": seq, "hash": previous, "entry": entry,
                     "raw": base64.b64encode(raw).decode()})  # fmt: skip
    assert lot == document["lot_id"]
    return document | {"entries": rows, "head": previous}


def swapped(value: Any, pairs: dict[str, str]) -> Any:
    """`value` with every string of one bidder (id, plate, name) read as the other's."""
    if isinstance(value, dict):
        return {k: swapped(v, pairs) for k, v in value.items()}
    if isinstance(value, list):
        return [swapped(v, pairs) for v in value]
    return pairs.get(value, value) if isinstance(value, str) else value


def verify(
    tmp_path: Path, document: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    key = tmp_path / "log.vkey"
    key.write_text(LOG_SIGNER.vkey() + "\n")
    code = main(
        ["verify", str(save(tmp_path, document, f"{secrets.token_hex(4)}.json")), "--key", str(key)]
    )
    return code, capsys.readouterr().err


async def test_an_honest_export_holds_and_every_forgery_fails(
    admin: httpx.AsyncClient, redis: Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lot = await closed_lot(admin, redis)
    document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert verify(tmp_path, document, capsys) == (0, "")
    entries = [row["entry"] for row in document["entries"]]

    bidders = {e["bidder_id"]: e for e in entries if e["kind"] == "registered"}
    (a, one), (b, other) = list(bidders.items())
    pairs = {a: b, b: a, one["plate"]: other["plate"], other["plate"]: one["plate"],
             one["name"]: other["name"], other["name"]: one["name"]}  # fmt: skip
    winner_swapped = rechained(document, swapped(entries, pairs))
    assert winner_swapped["entries"][-1]["entry"] != document["entries"][-1]["entry"]
    assert main(["verify", str(save(tmp_path, winner_swapped))]) == 0  # the chain alone: H4
    code, said = verify(tmp_path, winner_swapped, capsys)
    assert code == 1 and "rewritten, or cut short" in said

    cut = document | {"entries": document["entries"][:-2],
                      "head": document["entries"][-3]["hash"]}  # fmt: skip
    assert main(["verify", str(save(tmp_path, cut))]) == 0  # a shorter log replays fine alone
    code, said = verify(tmp_path, cut, capsys)
    assert code == 1 and "rewritten, or cut short" in said

    i = next(n for n, e in enumerate(entries) if e["kind"] == "bid")
    reordered = rechained(
        document, [*entries[: i - 1], entries[i], entries[i - 1], *entries[i + 1 :]]
    )
    assert verify(tmp_path, reordered, capsys)[0] == 1

    impostor = Signer("openbid.test/log", Signer.generate("x").key)
    proof = document["transparency"]
    resigned = rechained(document, swapped(entries, pairs))
    size = proof["size"]
    resigned["transparency"] = proof | {"checkpoint": impostor.checkpoint(size, bytes(32))}
    code, said = verify(tmp_path, resigned, capsys)
    assert code == 1 and "the checkpoint does not hold" in said

    bare = {k: v for k, v in document.items() if k != "transparency"}
    code, said = verify(tmp_path, bare, capsys)
    assert code == 1 and "no checkpoint" in said


async def test_anyone_replays_a_closed_lot_and_learns_no_name_nor_payment_reference(
    admin: httpx.AsyncClient,
    public: httpx.AsyncClient,
    redis: Redis,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    open_lot, _ = await lot_in_limited(admin, "甲", "乙", countdown_s=60)
    early = await public.get(f"/api/lots/{open_lot}/audit/public")
    assert (early.status_code, early.json()["code"]) == (409, "CONFLICT")

    lot = await closed_lot(admin, redis)
    published = await public.get(f"/api/lots/{lot}/audit/public")
    assert published.status_code == 200
    document = published.json()
    assert verify(tmp_path, document, capsys) == (0, "")
    staff = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert document["entries"] == staff["entries"] and document["head"] == staff["head"]
    assert "clear" not in document and "blinding_key" not in document
    names_and_refs = set(staff["clear"].values())
    assert {"甲", "乙"} <= names_and_refs and len(names_and_refs) == 4  # two names, two refs
    text = json.dumps(document, ensure_ascii=False)
    assert not [value for value in names_and_refs if value in text]

    result = (await public.get(f"/api/lots/{lot}/result")).json()
    assert result["winner_name"] == "乙"  # the clear name, from the staff's side of the store
    bidders = (await admin.get(f"/api/lots/{lot}/bidders")).json()["bidders"]
    assert sorted(b["name"] for b in bidders) == ["乙", "甲"]


async def test_the_staff_export_names_what_each_blinded_value_hides(
    admin: httpx.AsyncClient, redis: Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lot = await closed_lot(admin, redis)
    staff = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert verify(tmp_path, staff, capsys) == (0, "")
    blinded = next(b for b, v in staff["clear"].items() if v == "甲")
    lied = staff | {"clear": staff["clear"] | {blinded: "丙"}}
    code, said = verify(tmp_path, lied, capsys)
    assert code == 1 and "does not hide '丙'" in said


async def test_the_served_proofs_hold_against_the_served_checkpoint(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    lot, _ = await lot_in_limited(admin, "甲", "乙", countdown_s=60)
    assert (await public.get("/api/log/key")).text.strip() == LOG_SIGNER.vkey()
    before = KEY.checkpoint((await public.get("/api/log/checkpoint")).text)
    document = (await admin.get(f"/api/lots/{lot}/audit")).json()  # puts the lot in the tree
    after = KEY.checkpoint((await public.get("/api/log/checkpoint")).text)
    assert after.size > before.size

    found = (await public.get(f"/api/log/consistency?from={before.size}&to={after.size}")).json()
    proof = [base64.b64decode(h) for h in found["proof"]]
    assert verify_consistency(before.size, after.size, before.root, after.root, proof)
    assert not verify_consistency(before.size, after.size, after.root, after.root, proof)

    newest = KEY.checkpoint((await public.get("/api/log/checkpoint")).text)
    for row in document["entries"]:
        raw = base64.b64decode(row["raw"])
        digest = hashlib.sha256(raw).hexdigest()
        query = f"/api/log/inclusion?log={lot}&entry={digest}&size={newest.size}"
        found = (await public.get(query)).json()
        assert (found["entry"], found["chain_hash"], found["size"]) == (
            digest,
            row["hash"],
            newest.size,
        )
        path = [base64.b64decode(h) for h in found["proof"]]
        hashed = leaf_hash(leaf(lot, digest, row["hash"]))
        assert verify_inclusion(hashed, found["index"], newest.size, path, newest.root)
        forged = leaf_hash(leaf(lot, hashlib.sha256(raw + b"x").hexdigest(), row["hash"]))
        assert not verify_inclusion(forged, found["index"], newest.size, path, newest.root)
    first = base64.b64decode(document["entries"][0]["raw"])
    query = f"/api/log/inclusion?log={lot}&entry={hashlib.sha256(first).hexdigest()}"
    pinned = (await public.get(f"{query}&size={after.size}")).json()
    path = [base64.b64decode(h) for h in pinned["proof"]]
    hashed = leaf_hash(leaf(lot, hashlib.sha256(first).hexdigest(), document["entries"][0]["hash"]))
    assert verify_inclusion(hashed, pinned["index"], after.size, path, after.root)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [("consistency?from=2&to=1", 409, "CONFLICT"),
     ("consistency?from=x&to=1", 422, "BAD_MESSAGE"),
     ("consistency?to=1", 422, "BAD_MESSAGE"),
     ("consistency?from=0&to=99999999999", 409, "CONFLICT"),
     (f"inclusion?log=ffffffffff&entry={'0' * 64}", 404, "NOT_FOUND"),
     (f"inclusion?log=a%2Fb&entry={'0' * 64}", 422, "BAD_MESSAGE"),
     (f"inclusion?entry={'0' * 64}", 422, "BAD_MESSAGE"),
     ("inclusion?log=abc&entry=xyz", 422, "BAD_MESSAGE"),
     (f"inclusion?log=abc&entry={'A' * 64}", 422, "BAD_MESSAGE")],
)  # fmt: skip
async def test_a_bad_proof_request_gets_a_clear_error(
    public: httpx.AsyncClient, query: str, status: int, code: str
) -> None:
    answer = await public.get(f"/api/log/{query}")
    assert (answer.status_code, answer.json()["code"]) == (status, code)


@pytest.fixture
async def fork_store() -> AsyncIterator[str]:
    with (
        tempfile.TemporaryDirectory(prefix="ob-fork-") as tmp,
        EmbeddedValkey(Path(tmp), persist=False) as server,
    ):
        yield server.url


async def test_a_witness_keeps_the_checkpoints_and_flags_a_fork(
    admin: httpx.AsyncClient, served: str, fork_store: str, tmp_path: Path
) -> None:
    await lot_in_limited(admin, "甲", "乙", countdown_s=60)
    await (await admin.get("/api/log/checkpoint")).aread()
    state = tmp_path / "witness"
    witness = ["witness", served, "--state", str(state), "--once"]
    assert await asyncio.to_thread(main, witness) == 0
    kept = KEY.checkpoint((state / "checkpoint").read_text())
    assert (state / "key").read_text().strip() == LOG_SIGNER.vkey()

    lot, _ = await lot_in_limited(admin, "丙", "丁", countdown_s=60)
    await admin.get(f"/api/lots/{lot}/audit")  # the log grows; the witness follows
    assert await asyncio.to_thread(main, witness) == 0
    assert KEY.checkpoint((state / "checkpoint").read_text()).size > kept.size
    kept = KEY.checkpoint((state / "checkpoint").read_text())

    client = await connect(fork_store)  # the same key, another history, a larger tree
    leaves = [leaf_hash(f"forged {i}".encode()) for i in range(kept.size + 3)]
    await Tree(client).append(0, len(leaves), append(0, {}, leaves), [])
    await client.aclose()
    async with serving(fork_store) as forked:
        forked_witness = ["witness", forked, "--state", str(state), "--once"]
        assert await asyncio.to_thread(main, forked_witness) == 1
    assert (state / f"fork-{kept.size + 3}.checkpoint").exists()
    assert KEY.checkpoint((state / "checkpoint").read_text()) == kept  # the honest one stays


async def test_a_witness_refuses_a_checkpoint_of_another_key(served: str, tmp_path: Path) -> None:
    other = tmp_path / "other.vkey"
    other.write_text(Signer.generate("openbid.test/log").vkey())
    witness = ["witness", served, "--state", str(tmp_path / "w"), "--key", str(other), "--once"]
    assert await asyncio.to_thread(main, witness) == 1
