"""A remote bid opening (不见面开标) over the real server: Python bidders seal on their side,
sign in and decrypt over the opening's WebSocket, the host drives it, the public watches;
the record, the audit export and `openbid verify` close it. Real time drives the deadline
and the decryption window (a couple of seconds each)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from auction.checkpoint import Verifier
from auction.opening.envelope import Sealed, seal
from auction.opening.record import record_hash
from auction.receipt import Receipt
from server.verify import verify_document
from tests.conftest import LOG_SIGNER, SUPERVISOR, TIMEOUT
from tests.server.helpers import bearer
from tests.server.services.test_documents import in_the_log, valid_pdf
from tests.server.wsclient import Client, Message, client

PRICES = {"甲": 41_980_000_00, "乙": 42_350_000_00, "丙": 40_770_000_00, "丁": 43_000_000_00}
DEADLINE_MS = 2500  # from now: time to register four bidders and upload their envelopes
WINDOW_S = 2


def key_text(sealed: Sealed) -> str:
    return base64.b64encode(sealed.key).decode()


async def new_opening(admin: httpx.AsyncClient, min_bidders: int = 3, **more: Any) -> str:
    now = (await admin.get("/api/health")).json()["server_now"]
    config = {"title": "某市政道路工程施工（第一标段）", "bid_deadline": now + DEADLINE_MS,
              "decrypt_window_s": WINDOW_S, "min_bidders": min_bidders, **more}  # fmt: skip
    made = await admin.post("/api/openings", json=config)
    assert made.status_code == 201, made.text
    opening_id: str = made.json()["opening_id"]
    return opening_id


async def enrol(admin: httpx.AsyncClient, opening_id: str, name: str) -> dict[str, Any]:
    """Register a bidder, seal its bid on its side, upload the envelope."""
    made: dict[str, Any] = (
        await admin.post(f"/api/openings/{opening_id}/bidders", json={"name": name})
    ).json()
    bid = {"price": PRICES[name], "duration_days": 540, "quality": "合格"}
    sealed = seal(opening_id, made["bidder_id"], bid, ("商务标.pdf", name.encode() * 100))
    auth = {"authorization": f"Bearer {made['token']}"}
    sent = await admin.post(f"/api/openings/{opening_id}/envelopes", json=sealed.upload(),
                            headers=auth)  # fmt: skip
    assert sent.status_code == 200 and sent.json()["accepted"], sent.text
    receipt = Receipt.parse(Verifier(LOG_SIGNER.vkey()).open(sent.json()["receipt"]))
    assert (receipt.log, receipt.kind) == (opening_id, "envelope")
    return made | {"sealed": sealed, "auth": auth}


def phase_is(phase: str, **fields: Any) -> Any:
    def match(m: Message) -> bool:
        return (
            m.get("kind") == "phase"
            and m.get("phase") == phase
            and all(m.get(k) == v for k, v in fields.items())
        )

    return match


def answer(m: Message) -> bool:
    return m["type"] in ("ack", "nack", "error")


async def act(who: Client, message: Message) -> Message:
    await who.send(message)
    return (await who.until(answer))[-1]


async def test_a_full_opening_over_the_server_and_its_verified_export(
    served: str, admin: httpx.AsyncClient, redis: Redis, tmp_path: Path
) -> None:
    opening_id = await new_opening(admin, backup_remedy="backup")
    bidders = {name: await enrol(admin, opening_id, name) for name in PRICES}
    async with AsyncExitStack() as stack:
        ws = {n: await stack.enter_async_context(client(served, opening_id, room="openings"))
              for n in PRICES}  # fmt: skip
        host = await stack.enter_async_context(client(served, opening_id, room="openings"))
        viewer = await stack.enter_async_context(
            client(served, opening_id, "openbid.json.v1", room="openings")
        )
        await viewer.hello()
        assert (await host.hello(admin.headers["authorization"][7:]))["role"] == "admin"
        for name, c in ws.items():
            welcome = await c.hello(bidders[name]["token"])
            assert welcome["opening"]["me"]["envelope"] is not None
            assert (await act(c, {"type": "sign_in"}))["type"] == "ack"

        await viewer.until(phase_is("sign_in"))  # the deadline passed, by the server's clock
        late = await admin.post(f"/api/openings/{opening_id}/envelopes",
                                json=bidders["甲"]["sealed"].upload(),
                                headers=bidders["甲"]["auth"])  # fmt: skip
        assert late.status_code == 409 and late.json()["code"] == "PHASE_CLOSED"

        assert (await act(host, {"type": "advance", "to": "bidders_published"}))["type"] == "ack"
        assert (await act(host, {"type": "advance", "to": "decryption"}))["type"] == "ack"
        ok = await act(ws["甲"], {"type": "decrypt", "key": key_text(bidders["甲"]["sealed"])})
        assert ok["status"] == "decrypted"
        wrong = await act(ws["乙"], {"type": "decrypt", "key": key_text(bidders["丙"]["sealed"])})
        assert wrong["status"] == "failed" and wrong["reason"] == "BAD_KEY"
        again = await act(ws["乙"], {"type": "decrypt", "key": key_text(bidders["乙"]["sealed"])})
        assert again["status"] == "decrypted"
        c_plate = bidders["丙"]["plate"]
        fault = {"type": "fault", "plate": c_plate, "note": "解密服务节点故障"}
        assert (await act(host, fault))["type"] == "ack"
        # 丁 never decrypts: the window closes on it
        await viewer.until(phase_is("decryption", window_closed=True))
        backup = {"type": "backup", "plate": c_plate, "key": key_text(bidders["丙"]["sealed"])}
        assert (await act(host, backup))["code"] == "NEEDS_COSIGN"  # the host alone: no
        wrong_fault = {"type": "fault", "plate": bidders["乙"]["plate"], "note": "x"}
        assert (await act(host, wrong_fault))["code"] == "ALREADY_SUBMITTED"  # 乙 decrypted
        cosign = await admin.post(f"/api/openings/{opening_id}/commands",
                                  json={"type": "cosign", "plate": c_plate},
                                  headers=bearer(SUPERVISOR))  # fmt: skip
        assert cosign.json()["accepted"], cosign.text
        assert (await act(host, backup))["status"] == "decrypted"
        assert (await act(host, {"type": "advance", "to": "read_out"}))["type"] == "ack"
        read_out = (await viewer.until(lambda m: m.get("kind") == "read_out"))[-1]
        prices = {r["name"]: r["price"] for r in read_out["rows"]}
        assert prices == {"甲": PRICES["甲"], "乙": PRICES["乙"], "丙": PRICES["丙"], "丁": None}
        d_row = next(r for r in read_out["rows"] if r["name"] == "丁")
        assert (d_row["status"], d_row["side"], d_row["consequence"]) == (
            "failed",
            "bidder",
            "撤销",
        )

        objected = await act(ws["丁"], {"type": "object", "text": "我方解密时页面无响应"})
        assert (await act(host, {"type": "advance", "to": "confirmation"}))["type"] == "ack"
        record = (await viewer.until(lambda m: m.get("kind") == "record"))[-1]
        assert record["record_hash"] == record_hash(record["record"])
        refused = await act(host, {"type": "advance", "to": "ended"})
        assert refused["type"] == "nack" and refused["code"] == "OBJECTION_OPEN"
        reply = {
            "type": "reply",
            "objection_id": objected["objection_id"],
            "text": "经核查系投标人本地网络原因",
        }
        assert (await act(host, reply))["type"] == "ack"
        for name in ("甲", "乙", "丙"):
            assert (await act(ws[name], {"type": "confirm"}))["type"] == "ack"
        assert (await act(host, {"type": "advance", "to": "ended"}))["type"] == "ack"
        await viewer.until(phase_is("ended"))
        seen_by_public = viewer.received

    assert_public_never_saw_secrets(seen_by_public, bidders)
    async with client(served, opening_id, room="openings") as latecomer:  # resume from the start
        await latecomer.hello(since=0)
        replayed = await latecomer.until(phase_is("ended"))
    live = [m for m in seen_by_public if m["type"] == "event"]
    assert replayed[0]["kind"] == "created"  # before the live viewer joined; the rest it saw
    assert [(m["seq"], m["kind"]) for m in replayed[1:]] == [(m["seq"], m["kind"]) for m in live]
    page = await admin.get(f"/openings/{opening_id}/record")
    assert "41,980,000.00" in page.text and "投标人原因，视为撤销投标文件" in page.text
    pdf, _ = await valid_pdf(admin, f"/api/openings/{opening_id}/record.pdf")  # 开标记录表, signed
    await in_the_log(admin, opening_id, pdf)
    exported = (await admin.get(f"/api/openings/{opening_id}/audit")).json()
    path = tmp_path / "opening-audit.json"
    path.write_text(json.dumps(exported, ensure_ascii=False))
    verified = subprocess.run([sys.executable, "-m", "server.cli", "verify", str(path)],
                              capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    forged = json.loads(path.read_text())
    forged["envelopes"] = {d: forged["envelopes"][d] for d in list(forged["envelopes"])[1:]}
    path.write_text(json.dumps(forged))
    broken = subprocess.run([sys.executable, "-m", "server.cli", "verify", str(path)],
                            capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
    assert broken.returncode == 1


def assert_public_never_saw_secrets(seen: list[Message], bidders: dict[str, Any]) -> None:
    published_at = next(i for i, m in enumerate(seen) if m.get("phase") == "bidders_published")
    text = [json.dumps(m, ensure_ascii=False) for m in seen]
    for name, made in bidders.items():
        assert all(name not in t for t in text[:published_at])  # no name before 公布投标人
        assert all(key_text(made["sealed"]) not in t for t in text)  # never a key
    assert all("bid" not in m for m in seen)


async def test_the_server_holds_no_way_to_read_an_envelope_before_decryption(
    admin: httpx.AsyncClient, redis: Redis
) -> None:
    opening_id = await new_opening(admin)
    made = await enrol(admin, opening_id, "甲")
    sealed: Sealed = made["sealed"]
    stored = b""
    async for key in redis.scan_iter(match=f"ob:{{{opening_id}}}:*"):
        stored += key + (await redis.dump(key) or b"")
    stored += await redis.dump("ob:due:openings") or b""
    assert sealed.ciphertext[:64] in stored  # what it does hold: the ciphertext
    for secret in (sealed.key, key_text(sealed).encode(), str(PRICES["甲"]).encode(),
                   "合格".encode(), "商务标".encode()):  # fmt: skip
        assert secret not in stored


async def test_too_few_envelopes_abort_the_opening_at_the_deadline(
    served: str, admin: httpx.AsyncClient
) -> None:
    opening_id = await new_opening(admin, min_bidders=3)
    for name in ("甲", "乙"):
        await enrol(admin, opening_id, name)
    public = httpx.AsyncClient(base_url=served, timeout=TIMEOUT)
    early = await public.get(f"/api/openings/{opening_id}/audit/public")
    assert (early.status_code, early.json()["code"]) == (409, "CONFLICT")
    async with client(served, opening_id, "openbid.json.v1", room="openings") as viewer:
        await viewer.hello()
        aborted = (await viewer.until(lambda m: m.get("kind") == "phase"))[-1]
    assert aborted["phase"] == "aborted" and aborted["reason"] == "TOO_FEW_ENVELOPES"
    snapshot = (await admin.get(f"/api/openings/{opening_id}")).json()
    assert snapshot["phase"] == "aborted" and snapshot["envelopes"] == 2
    answer = await admin.post(f"/api/openings/{opening_id}/commands", json={"type": "advance"})
    assert answer.status_code == 409 and answer.json()["code"] == "PHASE_CLOSED"
    published = (await public.get(f"/api/openings/{opening_id}/audit/public")).json()
    await public.aclose()
    assert verify_document(published).endswith("phase aborted")
    assert (
        published["entries"]
        == (await admin.get(f"/api/openings/{opening_id}/audit")).json()["entries"]
    )


async def test_opening_events_over_http_are_public_and_start_after_since(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    """An early sign-in stays private until the deadline (R4): before it the public sees
    the same whether anyone signed in or not; the deadline's phase entry then names them."""
    opening_id = await new_opening(admin, min_bidders=1)
    made = await enrol(admin, opening_id, "甲")
    for _ in range(12):  # sign-in twice and more: refused, then too fast
        answer = await public.post(f"/api/openings/{opening_id}/commands",
                                   json={"type": "sign_in"}, headers=made["auth"])  # fmt: skip
    assert answer.status_code == 429 and answer.json()["code"] == "RATE_LIMITED"
    everything = (await public.get(f"/api/openings/{opening_id}/events?since=0")).json()["events"]
    assert [e["kind"] for e in everything] == ["created"]  # the rest is private until the deadline
    async with client(served, opening_id, "openbid.json.v1", room="openings") as viewer:
        await viewer.hello()
        opened = (await viewer.until(phase_is("sign_in")))[-1]
    assert opened["signed_in"] == [made["plate"]]
    later = (await public.get(f"/api/openings/{opening_id}/events?since=1")).json()["events"]
    assert [e["kind"] for e in later] == ["phase"]
    bad = await public.get(f"/api/openings/{opening_id}/events?since=x")
    assert bad.status_code == 422 and bad.json()["code"] == "BAD_MESSAGE"


async def test_the_archive_is_built_once_until_the_opening_changes(
    admin: httpx.AsyncClient,
) -> None:
    """Review L7: each download wrote a full copy of every recording to a temporary file."""
    opening_id = await new_opening(admin)
    path = f"/api/openings/{opening_id}/archive"
    first, again = await admin.get(path), await admin.get(path)
    assert first.status_code == again.status_code == 200
    assert first.headers["etag"] == again.headers["etag"] and first.content == again.content
    await enrol(admin, opening_id, "甲")  # the log grew: a new archive
    changed = await admin.get(path)
    assert changed.headers["etag"] != first.headers["etag"]
