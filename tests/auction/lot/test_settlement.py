"""Money after the close (auction/lot/settlement.py): the contract frees the winner's
deposit, a default (two people) forfeits it, the bank reports each refund sent then done,
and the refund list read from the log says the same; every step replays."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from auction.china import after_workdays, date_of
from auction.log import Tick
from auction.lot.replay import replay
from auction.lot.state import Deposit, Register
from auction.money.refunds import REFUND_DAYS, refunds
from auction.money.settlement import Contract, Default, Refunded
from tests.auction.lot.test_replay import AUCTION, MIN, Lot
from tests.auction.money.test_refunds import at, closed_on

CLOSING = dt.date(2026, 9, 25)  # a Friday before 国庆
LATER = at(dt.date(2026, 10, 12))  # when the staff record what follows


def seqs(lot: Lot, plate: str) -> list[int]:
    return [e["seq"] for e in lot.log if e["kind"] == "deposit" and e["plate"] == plate]


def statuses(lot: Lot) -> list[tuple[str, str, str | None]]:
    """Each refund's plate, status (or "held", a winner's until the contract) and due day."""
    return [(r.plate, "held" if r.held else r.status, r.due) for r in refunds("lot-7", lot.log)]


def replays(lot: Lot) -> bool:
    return replace(replay(lot.log, "lot-7"), secrets=lot.state.secrets) == lot.state


def test_the_bank_reports_a_losers_refund_sent_then_done_once() -> None:
    lot = closed_on(CLOSING)
    first, second = seqs(lot, "101")  # A lost: its two transfers
    assert lot.do(Refunded(seq=first, status="sent", actor="bank-1"), LATER)["accepted"]
    assert lot.do(Refunded(seq=first, status="sent"), LATER)["code"] == "ALREADY_SUBMITTED"
    assert lot.do(Refunded(seq=first, status="done"), LATER)["accepted"]
    assert lot.do(Refunded(seq=first, status="done"), LATER)["code"] == "ALREADY_SUBMITTED"
    assert lot.do(Refunded(seq=second, status="done"), LATER)["accepted"]  # done at once
    assert lot.do(Refunded(seq=1, status="done"), LATER)["code"] == "NOT_FOUND"  # not a deposit
    assert [s for p, s, _ in statuses(lot) if p == "101"] == ["done", "done"]
    assert replays(lot)


def test_the_winners_deposit_waits_for_the_contract() -> None:
    lot = closed_on(CLOSING)
    (won,) = seqs(lot, "102")
    assert lot.do(Refunded(seq=won, status="sent"), LATER)["code"] == "NOT_READY"
    assert statuses(lot)[-1] == ("102", "held", None)
    assert lot.do(Contract(actor="host-1"), LATER)["accepted"]
    assert lot.do(Contract(), LATER)["code"] == "ALREADY_SUBMITTED"
    due = after_workdays(date_of(LATER), REFUND_DAYS)[0].isoformat()
    assert statuses(lot)[-1] == ("102", "due", due)
    assert lot.do(Refunded(seq=won, status="sent"), LATER)["accepted"]
    assert replays(lot)


def test_a_default_takes_two_people_and_forfeits_the_winners_deposit() -> None:
    lot = closed_on(CLOSING)
    (won,) = seqs(lot, "102")
    asked = lot.do(Default(by="host", reason="未在期限内签订合同", actor="host-1"), LATER)
    assert asked["pending"] == "default"
    assert lot.do(Default(by="host", reason="再次"), LATER)["code"] == "CONFLICT"
    assert statuses(lot)[-1][1] == "held"  # asked is not recorded
    assert "pending" not in lot.do(Default(by="supervisor", reason="同意"), LATER)
    assert statuses(lot)[-1] == ("102", "forfeited", None)
    assert lot.do(Refunded(seq=won, status="sent"), LATER)["code"] == "NOT_READY"
    assert lot.do(Contract(), LATER)["code"] == "ALREADY_SUBMITTED"
    assert replays(lot)


def test_nothing_settles_before_the_close_nor_a_contract_on_a_lot_not_sold() -> None:
    opens = at(CLOSING)
    lot = Lot.new(AUCTION | {"opens_at": opens, "free_ends_at": opens + 60 * MIN})
    lot.do(Register(bidder_id="A", plate="101", name="甲"), opens - MIN)
    lot.do(Deposit(bidder_id="A", amount=AUCTION["deposit"], kind="cash", ref="r"), opens - 1)
    (paid,) = seqs(lot, "101")
    for command in (Contract(), Default(by="host", reason="x"), Refunded(seq=paid, status="sent")):
        assert lot.do(command, opens - 1)["code"] == "PHASE_CLOSED"
    for due in (opens, opens + 60 * MIN, opens + 65 * MIN):  # no bid: 流拍
        lot.do(Tick(), due)
    assert lot.do(Contract(), LATER)["code"] == "PHASE_CLOSED"
    assert lot.do(Default(by="host", reason="x"), LATER)["code"] == "PHASE_CLOSED"
    assert lot.do(Refunded(seq=paid, status="done"), LATER)["accepted"]  # everyone's is due
    assert replays(lot)
