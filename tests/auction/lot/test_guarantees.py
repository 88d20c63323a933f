"""电子保函 on a lot (auction/lot/guarantees.py): a guarantee covering the deposit and valid
long enough qualifies its bidder once the issuer confirms it in time; a revocation before
the close disqualifies unless cash covers; what is refused writes nothing; the log replays
and its refunds release what the issuers confirmed."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from auction.china import BEIJING
from auction.log import Tick
from auction.lot.guarantees import REVOKED, could_win
from auction.lot.replay import replay
from auction.lot.state import Deposit, LotPhase, Register, Terminate
from auction.money.guarantee import (
    MARGIN_DAYS,
    ConfirmGuarantee,
    Filed,
    FileGuarantee,
    RevokeGuarantee,
)
from auction.money.refunds import refunds
from tests.auction.lot.test_replay import AUCTION, MIN, Lot, bid

WAN = 1_000_000
DEPOSIT = AUCTION["deposit"]
OPENS = int(dt.datetime(2026, 6, 1, 9, tzinfo=BEIJING).timestamp() * 1000)
FREE_ENDS = OPENS + 60 * MIN  # 2026-06-01 in Beijing
ENOUGH = (dt.date(2026, 6, 1) + dt.timedelta(days=MARGIN_DAYS)).isoformat()
SHORT_LIVED = (dt.date(2026, 6, 1) + dt.timedelta(days=MARGIN_DAYS - 1)).isoformat()


def lot_of(*bidders: str) -> Lot:
    lot = Lot.new(AUCTION | {"opens_at": OPENS, "free_ends_at": FREE_ENDS})
    for i, who in enumerate(bidders):
        lot.do(Register(bidder_id=who, plate=f"{101 + i}", name=f"{who}公司"), OPENS - MIN)
    return lot


def filed(who: str, number: str, amount: int = DEPOSIT, until: str = ENOUGH) -> FileGuarantee:
    return FileGuarantee(bidder_id=who, number=number, issuer="中国银行北京分行",
                         amount=amount, valid_until=until)  # fmt: skip


def kinds(lot: Lot) -> list[str]:
    return [e["kind"] for e in lot.log]


def replays(lot: Lot) -> bool:
    return replace(replay(lot.log, "lot-7"), secrets=lot.state.secrets) == lot.state


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (filed("A", "h:g1", amount=DEPOSIT - 1), "GUARANTEE_SHORT"),
        (filed("A", "h:g1", until=SHORT_LIVED), "GUARANTEE_EXPIRES"),
        (ConfirmGuarantee(number="h:nobody"), "NOT_FOUND"),
        (RevokeGuarantee(number="h:nobody"), "NOT_FOUND"),
    ],
)
def test_a_guarantee_that_does_not_hold_writes_nothing(command: Any, code: str) -> None:
    lot = lot_of("A")
    before = list(lot.log)
    assert lot.do(command, OPENS - 1000) == {"accepted": False, "code": code}
    assert lot.log == before


def test_confirmed_in_time_it_qualifies_and_its_bidder_bids() -> None:
    lot = lot_of("A", "B")
    assert lot.do(filed("A", "h:g1"), OPENS - 5000)["accepted"]
    assert lot.do(filed("B", "h:g1"), OPENS - 4000)["code"] == "CONFLICT"  # one number, once
    assert not lot.state.bidders["A"].qualified  # filed is not enough: the issuer says so
    assert lot.do(bid("A", 34 * WAN), OPENS + 1000)["code"] == "NOT_QUALIFIED"
    confirmed = lot.do(ConfirmGuarantee(number="h:g1", actor="issuer-1"), OPENS - 3000)
    assert confirmed["qualified"] is True
    again = lot.do(ConfirmGuarantee(number="h:g1"), OPENS - 2000)
    assert again == {"accepted": False, "code": "ALREADY_SUBMITTED"}
    assert lot.do(bid("A", 34 * WAN, "a2"), OPENS + 2000)["accepted"]
    assert kinds(lot).count("guarantee_confirmed") == 1
    assert replays(lot)


def test_a_confirmation_after_the_deposit_deadline_is_refused() -> None:
    lot = lot_of("A")
    lot.do(filed("A", "h:g1"), OPENS - 5000)
    lot.do(Tick(), OPENS)
    lot.do(Tick(), FREE_ENDS)  # deposits stop counting as 限时 begins (R3)
    late = lot.do(ConfirmGuarantee(number="h:g1"), FREE_ENDS + 1000)
    assert late == {"accepted": False, "code": "DEADLINE_PASSED"}
    too_late = lot.do(filed("A", "h:g2"), FREE_ENDS + 2000)  # nor filed after it
    assert too_late == {"accepted": False, "code": "DEADLINE_PASSED"}


def test_a_revocation_disqualifies_unless_cash_covers_and_the_close_ends_it() -> None:
    lot = lot_of("A", "B")
    for who, number in (("A", "h:ga"), ("B", "h:gb")):
        lot.do(filed(who, number), OPENS - 5000)
        lot.do(ConfirmGuarantee(number=number), OPENS - 4000)
    lot.do(Deposit(bidder_id="B", amount=DEPOSIT, kind="cash", ref="r-b"), OPENS - 3000)
    revoked = lot.do(RevokeGuarantee(number="h:ga", actor="issuer-1"), OPENS + 1000)
    assert revoked["qualified"] is False
    assert lot.do(bid("A", 34 * WAN), OPENS + 2000)["code"] == "NOT_QUALIFIED"
    assert lot.do(RevokeGuarantee(number="h:gb"), OPENS + 3000)["qualified"] is True  # cash
    assert lot.do(bid("B", 34 * WAN), OPENS + 4000)["accepted"]
    assert lot.do(RevokeGuarantee(number="h:ga"), OPENS + 5000)["code"] == "ALREADY_SUBMITTED"
    lot.do(Tick(), FREE_ENDS)
    lot.do(Tick(), FREE_ENDS + 300_000)  # sold to B
    assert lot.do(RevokeGuarantee(number="h:gb"), FREE_ENDS + 400_000)["code"] == "PHASE_CLOSED"
    assert replays(lot)


def test_refunds_release_the_guarantees_the_issuers_stand_by() -> None:
    lot = lot_of("A", "B", "C")
    for who, number in (("A", "h:ga"), ("B", "h:gb"), ("C", "h:gc")):
        lot.do(filed(who, number), OPENS - 5000)
        lot.do(ConfirmGuarantee(number=number), OPENS - 4000)
    lot.do(RevokeGuarantee(number="h:gc"), OPENS - 3000)  # C's issuer withdrew: nothing to free
    lot.do(bid("A", 34 * WAN), OPENS + 1000)
    lot.do(Tick(), FREE_ENDS)
    lot.do(Tick(), FREE_ENDS + 300_000)  # sold to A
    shown = [(r.plate, r.kind, r.held, r.payer) for r in refunds("lot-7", lot.log)]
    assert shown == [("101", "guarantee", True, None), ("102", "guarantee", False, None)]


def test_revoked_under_a_bid_that_could_win_the_lot_waits_for_the_staff() -> None:
    lot = lot_of("A", "B")
    for who, number in (("A", "h:ga"), ("B", "h:gb")):
        lot.do(filed(who, number), OPENS - 5000)
        lot.do(ConfirmGuarantee(number=number), OPENS - 4000)
    lot.do(bid("B", 34 * WAN, "b1"), OPENS + 1000)
    lot.do(bid("A", 35 * WAN, "a1"), OPENS + 2000)  # A leads
    lot.do(RevokeGuarantee(number="h:gb"), OPENS + 3000)  # B no longer could win: bidding goes on
    assert kinds(lot)[-1] == "guarantee_revoked"
    revoked = lot.do(RevokeGuarantee(number="h:ga", actor="issuer-1"), OPENS + 4000)
    assert revoked["accepted"] and revoked["qualified"] is False
    suspended = lot.log[-1]
    assert (suspended["kind"], suspended["by"], suspended["reason"]) == (
        "suspended", "platform", REVOKED
    )  # fmt: skip
    assert (lot.state.phase, lot.state.leader, lot.state.price) == (
        LotPhase.SUSPENDED,
        "A",
        35 * WAN,
    )
    lot.do(Tick(), FREE_ENDS + 300_000)  # the close does not come while suspended
    assert kinds(lot)[-1] == "suspended"
    lot.do(Terminate(by="host", reason="竞得人保函撤销"), FREE_ENDS + 301_000)
    lot.do(Terminate(by="supervisor", reason="同意终止"), FREE_ENDS + 302_000)
    assert (lot.state.phase, lot.state.outcome) == (LotPhase.CLOSED, "terminated")
    assert replays(lot)


@pytest.mark.parametrize("phase", ["scheduled", "closed"])
def test_a_revocation_outside_the_bidding_suspends_nothing(phase: str) -> None:
    lot = lot_of("A")
    lot.do(filed("A", "h:ga"), OPENS - 5000)
    lot.do(ConfirmGuarantee(number="h:ga"), OPENS - 4000)
    at = OPENS - 1000
    if phase == "closed":
        lot.do(bid("A", 34 * WAN, "a1"), OPENS + 1000)
        lot.do(Tick(), FREE_ENDS)
        lot.do(Tick(), FREE_ENDS + 300_000)
        at = FREE_ENDS + 400_000
    lot.do(RevokeGuarantee(number="h:ga"), at)
    assert lot.state.phase == phase
    assert "suspended" not in kinds(lot)


@pytest.mark.parametrize(
    ("holds", "expected"),
    [
        ({}, False),  # registered, never bid, or outbid
        ({"leader": "A"}, True),
        ({"indicator_leader": "A"}, True),  # 竞报指标 after the cap
        ({"acceptors": ("B", "A")}, True),  # in the cap lottery's pool
        ({"leader": "B", "acceptors": ("B",)}, False),
    ],
)
def test_who_could_win_by_the_lot(holds: dict[str, Any], expected: bool) -> None:
    lot = lot_of("A", "B")
    state = replace(lot.state, **holds)
    assert could_win(state, state.bidders["A"]) is expected


@pytest.mark.parametrize(
    ("own", "expected"),
    [
        ({}, False),
        ({"standing": (34 * WAN, 10, 7)}, True),  # a share of a lot sold by quantity
        ({"sealed_box": "box", "sealed_seq": 7}, True),  # 一次报价: sealed until the close
    ],
)
def test_who_could_win_by_its_own_bid(own: dict[str, Any], expected: bool) -> None:
    lot = lot_of("A", "B")
    bidder = replace(lot.state.bidders["A"], **own)
    assert could_win(lot.state, bidder) is expected


def test_each_word_on_a_guarantee_is_logged_for_the_staff_with_who_said_it() -> None:
    lot = lot_of("A")
    made = lot.do(replace(filed("A", "h:g1"), actor="host-0"), OPENS - 5000)
    entry = lot.log[-1]
    assert made == {"accepted": True, "seq": entry["seq"], "pseq": entry["pseq"]}
    kept = Filed(bidder_id="A", amount=DEPOSIT, valid_until=ENOUGH, seq=entry["seq"])
    assert lot.state.guarantees["h:g1"] == kept
    shown = {k: entry[k] for k in ("kind", "pub", "plate", "amount", "actor")}
    assert shown == {"kind": "guarantee", "pub": False, "plate": "101", "amount": DEPOSIT,
                     "actor": "host-0"}  # fmt: skip
    said: list[tuple[ConfirmGuarantee | RevokeGuarantee, str, bool]] = [
        (ConfirmGuarantee(number="h:g1", actor="issuer-1"), "guarantee_confirmed", True),
        (RevokeGuarantee(number="h:g1", actor="issuer-2"), "guarantee_revoked", False),
    ]
    for at, (command, kind, qualified) in enumerate(said):
        answer = lot.do(command, OPENS - 4000 + at)
        entry = lot.log[-1]
        assert answer == {"accepted": True, "seq": entry["seq"], "qualified": qualified,
                          "pseq": entry["pseq"]}  # fmt: skip
        shown = {k: entry[k] for k in ("kind", "pub", "plate", "number", "qualified", "actor")}
        assert shown == {"kind": kind, "pub": False, "plate": "101", "number": "h:g1",
                         "qualified": qualified, "actor": command.actor}  # fmt: skip
