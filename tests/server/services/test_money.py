"""Deposits through sub-accounts, from the outside: each bidder of a lot has its own virtual
sub-account; the bank's signed callback names it, and the deposit counts once whatever the
bank resends, only from the party's registered account, only before the deadline, and a
bank ref pays into one lot only. What is refused changes nothing."""

from __future__ import annotations

import csv
import io
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis
from stdnum import luhn

from auction.china import after_workdays, date_of
from auction.money.arrivals import digits
from server.cli import main
from tests.conftest import SUPERVISOR
from tests.server.helpers import OPENS_IN_MS, bearer, closing, make_lot, phase_reached
from tests.server.services.test_openings import new_opening
from tests.server.services.test_parties import new_party
from tests.server.services.test_staff import add, entries, signed

DEPOSIT = 10_000_000  # lot_config's, in fen


async def party_bidder(
    public: httpx.AsyncClient, lot: str, party: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A party of the library registered in the lot by its own token."""
    party = party or await new_party(public)
    made = await public.post(f"/api/lots/{lot}/bidders", json={}, headers=bearer(party["token"]))
    assert made.status_code == 201, made.text
    return dict(made.json()) | {"party": party}


async def account_of(http: httpx.AsyncClient, lot: str, bidder: dict[str, Any]) -> str:
    path = f"/api/lots/{lot}/bidders/{bidder['bidder_id']}/account"
    found = await http.get(path, headers=bearer(bidder["token"]))
    assert found.status_code == 200, found.text
    number: str = found.json()["account"]
    return number


class Bank:
    """The bank's side of the callback: its credential and its HMAC secret."""

    def __init__(self, http: httpx.AsyncClient, made: dict[str, Any]) -> None:
        self.http, self.token, self.secret = http, made["token"], made["hmac_secret"]

    async def arrived(self, account: str, amount: int, ref: str, payer: str) -> httpx.Response:
        body = {"account": account, "amount": amount, "ref": ref, "payer_account": payer}
        raw, headers = signed(self.secret, body)
        return await self.http.post("/api/bank/deposits", content=raw,
                                    headers=bearer(self.token) | headers)  # fmt: skip


async def test_each_bidder_has_its_own_checked_sub_account(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    lot = await make_lot(admin)
    a, b = await party_bidder(public, lot), await party_bidder(public, lot)
    mine = await account_of(public, lot, a)
    assert len(mine) == 19 and mine.isdigit() and luhn.is_valid(mine)
    assert await account_of(public, lot, a) == mine  # the same every time
    assert await account_of(public, lot, b) != mine
    path = f"/api/lots/{lot}/bidders/{a['bidder_id']}/account"
    assert (await public.get(path, headers=bearer(b["token"]))).status_code == 403
    assert (await public.get(path)).status_code == 401
    seen = await public.get(path, headers=bearer(SUPERVISOR))
    assert seen.json()["account"] == mine


async def test_split_transfers_qualify_once_and_a_resent_callback_counts_once(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    bank = Bank(admin, await add(admin, "工商银行", "bank"))
    lot = await make_lot(admin)
    bidder = await party_bidder(public, lot)
    account, payer = await account_of(public, lot, bidder), bidder["party"]["account"]
    first = await bank.arrived(account, 6_000_000, "icbc-split-1", payer)
    assert first.status_code == 200, first.text
    assert (first.json()["total"], first.json()["qualified"]) == (6_000_000, False)
    second = await bank.arrived(account, 4_500_000, "icbc-split-2", payer)  # more than enough
    assert (second.json()["total"], second.json()["qualified"]) == (10_500_000, True)
    assert second.json()["bidder_id"] == bidder["bidder_id"] and second.json()["lot_id"] == lot
    logged = await entries(admin, lot)
    again = await bank.arrived(account, 4_500_000, "icbc-split-2", payer)  # the bank resends
    assert again.json() | {"server_now": 0} == second.json() | {"server_now": 0}
    after = await entries(admin, lot)
    assert [e for e in after if e["kind"] == "deposit"] == [
        e for e in logged if e["kind"] == "deposit"
    ]  # counted once
    paid = [e for e in after if e["kind"] == "deposit"]
    assert [e["amount"] for e in paid] == [6_000_000, 4_500_000]
    assert all(e["payer"].startswith("h:") and payer not in str(e) for e in paid)  # blinded

    day = await admin.get("/api/money/reconciliation", headers=bearer(bank.token))
    (mine,) = [found for found in day.json()["lots"] if found["lot_id"] == lot]
    (line,) = mine["lines"]
    assert (line["plate"], line["arrivals"], line["arrived"], line["paid"]) == (
        bidder["plate"], 2, 10_500_000, 10_500_000,
    )  # fmt: skip
    assert (line["qualified"], line["short"], line["over"]) == (True, False, True)
    bad_day = await admin.get(
        "/api/money/reconciliation?day=2026-13-01", headers=bearer(bank.token)
    )
    assert (bad_day.status_code, bad_day.json()["field"]) == (422, "day")
    assert (
        await public.get("/api/money/reconciliation", headers=bearer(bidder["token"]))
    ).status_code == 403


async def test_what_the_bank_may_not_do_changes_nothing(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    bank = Bank(admin, await add(admin, "建设银行", "bank"))
    lot, other = await make_lot(admin), await make_lot(admin)
    bidder, elsewhere = await party_bidder(public, lot), await party_bidder(public, other)
    account, payer = await account_of(public, lot, bidder), bidder["party"]["account"]
    before = await entries(admin, lot)

    wrong_payer = await bank.arrived(account, DEPOSIT, "ccb-1", "6222 0000 1111 2222")
    assert (wrong_payer.status_code, wrong_payer.json()["code"]) == (409, "PAYER_MISMATCH")
    unsigned = await admin.post(
        "/api/bank/deposits", headers=bearer(bank.token),
        json={"account": account, "amount": DEPOSIT, "ref": "ccb-2", "payer_account": payer},
    )  # fmt: skip
    assert (unsigned.status_code, unsigned.json()["code"]) == (409, "BAD_SIGNATURE")
    body = {"account": account, "amount": DEPOSIT, "ref": "ccb-2", "payer_account": payer}
    raw, headers = signed("22" * 32, body)  # signed, but not with the bank's secret
    forged = await admin.post("/api/bank/deposits", content=raw,
                              headers=bearer(bank.token) | headers)  # fmt: skip
    assert (forged.status_code, forged.json()["code"]) == (409, "BAD_SIGNATURE")
    wrong_digit = account[:-1] + str((int(account[-1]) + 1) % 10)
    typo = await bank.arrived(wrong_digit, DEPOSIT, "ccb-3", payer)
    assert (typo.status_code, typo.json()["field"]) == (422, "account")
    host = await admin.post("/api/bank/deposits", json={})  # the host is not the bank
    assert host.status_code == 403
    assert await entries(admin, lot) == before

    paid = await bank.arrived(account, DEPOSIT, "ccb-4", payer)
    assert paid.json()["qualified"] is True
    there = await account_of(public, other, elsewhere)
    reused = await bank.arrived(there, DEPOSIT, "ccb-4", elsewhere["party"]["account"])
    assert (reused.status_code, reused.json()["code"]) == (409, "CONFLICT")
    assert not [e for e in await entries(admin, other) if e["kind"] == "deposit"]


async def test_a_transfer_after_the_deposit_deadline_is_refused(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, served: str
) -> None:
    bank = Bank(admin, await add(admin, "农业银行", "bank"))
    now = (await admin.get("/api/health")).json()["server_now"]
    opens = now + OPENS_IN_MS  # deposits count until it opens (R3)
    lot = await make_lot(admin, opens_at=opens, free_ends_at=opens)
    bidder = await party_bidder(public, lot)
    account = await account_of(public, lot, bidder)
    await phase_reached(served, lot, "limited")
    late = await bank.arrived(account, DEPOSIT, "abc-late", bidder["party"]["account"])
    assert (late.status_code, late.json()["code"]) == (409, "DEADLINE_PASSED")


async def test_refunds_go_back_where_each_deposit_came_from(
    admin: httpx.AsyncClient,
    public: httpx.AsyncClient,
    served: str,
    redis: Redis,
    tmp_path: Path,
) -> None:
    bank = Bank(admin, await add(admin, "中国银行", "bank"))
    now = (await admin.get("/api/health")).json()["server_now"]
    opens = now + 2 * OPENS_IN_MS
    lot = await make_lot(admin, opens_at=opens, free_ends_at=opens, countdown_s=1)
    a, b = await party_bidder(public, lot), await party_bidder(public, lot)
    for who, amount, ref in ((a, 4_000_000, "boc-a1"), (a, 6_000_000, "boc-a2"),
                             (b, DEPOSIT, "boc-b1")):  # fmt: skip
        paid = await bank.arrived(await account_of(public, lot, who), amount, ref,
                                  who["party"]["account"])  # fmt: skip
        assert paid.status_code == 200, paid.text
    path = f"/api/lots/{lot}/refunds"
    assert (await admin.get(path, headers=bearer(bank.token))).json()["refunds"] == []  # open
    await phase_reached(served, lot, "limited")
    async with closing(redis, lot):
        bid = {"bid_id": "b1", "price": 34_380_000}
        assert (await public.post(f"/api/lots/{lot}/bids", json=bid,
                                  headers=bearer(b["token"]))).json()["accepted"]  # fmt: skip

    assert (await public.get(path, headers=bearer(a["token"]))).status_code == 403
    found = (await admin.get(path, headers=bearer(bank.token))).json()["refunds"]
    closed_at = (await admin.get(f"/api/lots/{lot}/result")).json()["ts"]
    due = after_workdays(date_of(closed_at), 5)[0].isoformat()
    shown = [(r["plate"], r["amount"], r["to_account"], r["status"], r["due"]) for r in found]
    to_a, to_b = digits(a["party"]["account"]), digits(b["party"]["account"])
    assert shown == [
        (a["plate"], 4_000_000, to_a, "due", due),
        (a["plate"], 6_000_000, to_a, "due", due),
        (b["plate"], DEPOSIT, to_b, "due", None),  # held: 定金 toward the price
    ]
    assert [r["name"] for r in found] == [a["party"]["name"]] * 2 + [b["party"]["name"]]
    assert [r["held"] for r in found] == [False, False, True]
    exported = await admin.get(f"{path}?format=csv", headers=bearer(SUPERVISOR))
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["refund_id"], r["amount"], r["to_account"]) for r in rows] == [
        (r["refund_id"], str(r["amount"]), r["to_account"]) for r in found
    ]

    async def report(refund_id: str, status: str) -> httpx.Response:
        raw, headers = signed(bank.secret, {"status": status})
        return await admin.post(f"/api/bank/refunds/{refund_id}", content=raw,
                                headers=bearer(bank.token) | headers)  # fmt: skip

    first, _, won = (r["refund_id"] for r in found)
    assert (await report(first, "sent")).status_code == 200
    assert (await report(first, "done")).status_code == 200
    assert (await report(won, "sent")).json()["code"] == "NOT_READY"  # held toward the price
    assert (await admin.post(f"/api/lots/{lot}/contract", json={})).status_code == 200
    assert (await report(won, "done")).status_code == 200
    defaulted = await admin.post(f"/api/lots/{lot}/default", json={"reason": "违约"})
    assert (defaulted.status_code, defaulted.json()["code"]) == (409, "ALREADY_SUBMITTED")
    after = (await admin.get(path, headers=bearer(bank.token))).json()["refunds"]
    assert [r["status"] for r in after] == ["done", "due", "done"]
    audit = tmp_path / "audit.json"  # every money decision replays
    audit.write_text(json.dumps((await admin.get(f"/api/lots/{lot}/audit")).json()))
    assert main(["verify", str(audit)]) == 0


async def issuer_says(
    http: httpx.AsyncClient, issuer: dict[str, Any], number: str, what: str
) -> httpx.Response:
    raw, headers = signed(issuer["hmac_secret"], {})
    return await http.post(f"/api/guarantees/{number}/{what}", content=raw,
                           headers=bearer(issuer["token"]) | headers)  # fmt: skip


async def test_a_guarantee_counts_once_its_issuer_confirms_it_and_the_log_replays(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, tmp_path: Path
) -> None:
    issuer = await add(admin, "中国银行北京分行", "issuer")
    lot, other = await make_lot(admin), await make_lot(admin)
    bidder, elsewhere = await party_bidder(public, lot), await party_bidder(public, other)
    number = f"BG{secrets.token_hex(6)}"
    guarantee = {"kind": "guarantee", "issuer": "中国银行北京分行", "number": number,
                 "amount": DEPOSIT, "valid_until": "2099-12-31"}  # fmt: skip
    path = f"/api/lots/{lot}/bidders/{bidder['bidder_id']}/guarantees"
    short = await public.post(path, json=guarantee | {"amount": DEPOSIT - 1},
                              headers=bearer(bidder["token"]))  # fmt: skip
    assert (short.status_code, short.json()["code"]) == (409, "GUARANTEE_SHORT")
    made = await public.post(path, json=guarantee, headers=bearer(bidder["token"]))
    assert made.status_code == 200 and made.json()["accepted"], made.text
    twice = await public.post(
        f"/api/lots/{other}/bidders/{elsewhere['bidder_id']}/guarantees", json=guarantee,
        headers=bearer(elsewhere["token"]),
    )  # fmt: skip
    assert (twice.status_code, twice.json()["code"]) == (409, "CONFLICT")  # one bidder, one lot

    unsigned = await public.post(f"/api/guarantees/{number}/confirm", json={},
                                 headers=bearer(issuer["token"]))  # fmt: skip
    assert (unsigned.status_code, unsigned.json()["code"]) == (409, "BAD_SIGNATURE")
    confirmed = await issuer_says(public, issuer, number, "confirm")
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["qualified"], confirmed.json()["lot_id"]) == (True, lot)
    revoked = await issuer_says(public, issuer, number, "revoke")
    assert revoked.json()["qualified"] is False
    unknown = await issuer_says(public, issuer, "BG-never-filed", "confirm")
    assert unknown.status_code == 404

    logged = await entries(admin, lot)
    said = [e["kind"] for e in logged if e["kind"].startswith("guarantee")]
    assert said == ["guarantee", "guarantee_confirmed", "guarantee_revoked"]
    assert number not in str(logged)  # blinded, as refs are
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps((await admin.get(f"/api/lots/{lot}/audit")).json()))
    assert main(["verify", str(audit)]) == 0


async def test_an_opening_takes_its_tenderers_deposits_from_the_bank_and_the_host(
    admin: httpx.AsyncClient,
) -> None:
    bank = await add(admin, "兴业银行", "bank")
    opening = await new_opening(admin, deposit=DEPOSIT)
    a, b = [(await admin.post(f"/api/openings/{opening}/bidders", json={"name": n})).json()
            for n in ("甲", "乙")]  # fmt: skip
    path = f"/api/openings/{opening}/bidders/{a['bidder_id']}/deposit"
    body = {"amount": DEPOSIT, "kind": "cash", "ref": "cib-1"}
    unsigned = await admin.post(path, json=body, headers=bearer(bank["token"]))
    assert (unsigned.status_code, unsigned.json()["code"]) == (409, "BAD_SIGNATURE")
    raw, headers = signed(bank["hmac_secret"], body)
    for _ in range(2):  # the bank resends: counted once
        paid = await admin.post(path, content=raw, headers=bearer(bank["token"]) | headers)
        assert (paid.status_code, paid.json()["total"], paid.json()["status"]) == (
            200, DEPOSIT, "paid",
        )  # fmt: skip
    half = {"amount": DEPOSIT // 2, "kind": "cash", "ref": "host-typed"}
    typed = await admin.post(f"/api/openings/{opening}/bidders/{b['bidder_id']}/deposit", json=half)
    assert typed.json()["status"] == "none"
    own = await admin.post(path, json=half, headers=bearer(a["token"]))
    assert own.status_code == 403  # a tenderer does not report its own deposit
    audit = (await admin.get(f"/api/openings/{opening}/audit")).json()
    deposits = [row["entry"] for row in audit["entries"] if row["entry"]["kind"] == "deposit"]
    assert [(d["amount"], d["status"]) for d in deposits] == [
        (DEPOSIT, "paid"),
        (DEPOSIT // 2, "none"),
    ]
    assert "cib-1" not in str(deposits)  # the ref blinded


async def test_a_tenderer_pays_its_bid_bond_into_its_own_sub_account(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    opening, lot = await new_opening(admin, deposit=DEPOSIT), await make_lot(admin)
    party, other = await new_party(public), await new_party(public)
    joined = await public.post(f"/api/openings/{opening}/bidders", json={},
                               headers=bearer(party["token"]))  # fmt: skip
    assert joined.status_code == 201, joined.text
    tenderer = joined.json()
    path = f"/api/openings/{opening}/bidders/{tenderer['bidder_id']}/account"
    mine = (await public.get(path, headers=bearer(tenderer["token"]))).json()["account"]
    assert len(mine) == 19 and luhn.is_valid(mine)
    bank = Bank(admin, await add(admin, "招商银行", "bank"))
    seen = await public.get(path, headers=bearer(bank.token))
    assert seen.json()["account"] == mine  # the staff who handle money read it too
    rival = await public.post(f"/api/openings/{opening}/bidders", json={},
                              headers=bearer(other["token"]))  # fmt: skip
    theirs = await public.get(path, headers=bearer(rival.json()["token"]))
    assert theirs.status_code == 403
    nobody = await public.get(f"/api/openings/{opening}/bidders/nobody/account",
                              headers=bearer(bank.token))  # fmt: skip
    assert nobody.status_code == 404
    lots = await account_of(public, lot, await party_bidder(public, lot))
    assert lots != mine  # one register for lots and openings

    wrong = await bank.arrived(mine, DEPOSIT, "cmb-1", "6222 0000 1111 2222")  # a third party
    assert (wrong.status_code, wrong.json()["code"]) == (409, "PAYER_MISMATCH")
    for _ in range(2):  # the bank resends: counted once
        paid = await bank.arrived(mine, DEPOSIT, "cmb-1", party["account"])
        assert paid.status_code == 200, paid.text
        found = paid.json()
        assert (found["opening_id"], found["bidder_id"]) == (opening, tenderer["bidder_id"])
        assert (found["status"], found["total"], found.get("lot_id")) == ("paid", DEPOSIT, None)
    elsewhere = await bank.arrived(lots, DEPOSIT, "cmb-1", party["account"])
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (409, "CONFLICT")  # one ref
    audit = (await admin.get(f"/api/openings/{opening}/audit")).json()
    deposits = [row["entry"] for row in audit["entries"] if row["entry"]["kind"] == "deposit"]
    assert [(d["amount"], d["status"]) for d in deposits] == [(DEPOSIT, "paid")]
