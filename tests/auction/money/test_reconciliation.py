"""The day's reconciliation of a lot's deposits (auction/money/reconciliation.py): the day's
arrivals apart from earlier ones, short and over-paid bidders, guarantees in force, the
refunds reported that day and those past their due day."""

from __future__ import annotations

import datetime as dt

from auction.china import after_workdays
from auction.lot.state import Deposit, Register
from auction.money.guarantee import ConfirmGuarantee, FileGuarantee, RevokeGuarantee
from auction.money.reconciliation import reconcile
from auction.money.refunds import REFUND_DAYS
from auction.money.settlement import Refunded
from tests.auction.lot.test_replay import AUCTION, MIN, Lot
from tests.auction.money.test_refunds import at, closed_on

DEPOSIT = AUCTION["deposit"]
DAY = dt.date(2026, 6, 10)


def test_the_days_arrivals_and_what_each_bidder_stands_at() -> None:
    opens = at(DAY + dt.timedelta(days=1))
    lot = Lot.new(AUCTION | {"opens_at": opens, "free_ends_at": opens + 60 * MIN})
    for i, who in enumerate("ABCD"):
        lot.do(Register(bidder_id=who, plate=f"{101 + i}", name=who), at(DAY - dt.timedelta(1)))
    yesterday, today = at(DAY - dt.timedelta(days=1), 15), at(DAY, 11)
    lot.do(Deposit(bidder_id="A", amount=DEPOSIT // 2, kind="cash", ref="a1"), yesterday)
    lot.do(Deposit(bidder_id="A", amount=DEPOSIT // 2, kind="cash", ref="a2"), today)
    lot.do(Deposit(bidder_id="B", amount=DEPOSIT + 5, kind="cash", ref="b1"), today)
    lot.do(Deposit(bidder_id="C", amount=DEPOSIT // 4, kind="cash", ref="c1"), today)
    for number in ("h:g1", "h:g2"):  # D: one guarantee stands, one was revoked
        lot.do(FileGuarantee(bidder_id="D", number=number, issuer="某行", amount=DEPOSIT,
                             valid_until="2027-01-01"), today)  # fmt: skip
        lot.do(ConfirmGuarantee(number=number), today)
    lot.do(RevokeGuarantee(number="h:g2"), today)
    lines = {line.plate: line for line in reconcile("lot-7", lot.log, DEPOSIT, DAY)}
    a, b, c, d = (lines[p] for p in ("101", "102", "103", "104"))
    assert (a.arrived, a.arrivals, a.paid, a.qualified, a.short) == (
        DEPOSIT // 2,
        1,
        DEPOSIT,
        True,
        False,
    )
    assert (b.over, b.short, b.paid) == (True, False, DEPOSIT + 5)
    assert (c.short, c.qualified, c.arrived) == (True, False, DEPOSIT // 4)
    assert (d.guaranteed, d.qualified, d.short, d.paid) == (DEPOSIT, True, False, 0)
    before = {
        line.plate: line for line in reconcile("lot-7", lot.log, DEPOSIT, DAY - dt.timedelta(1))
    }
    assert (before["101"].arrived, before["101"].paid, before["102"].paid) == (
        DEPOSIT // 2,
        DEPOSIT // 2,
        0,
    )


def test_refunds_reported_that_day_and_those_past_due() -> None:
    closing = dt.date(2026, 3, 10)
    lot = closed_on(closing)  # A lost with two transfers, B won
    first, second = (e["seq"] for e in lot.log if e["kind"] == "deposit" and e["plate"] == "101")
    due = after_workdays(closing, REFUND_DAYS)[0]
    lot.do(Refunded(seq=first, status="done"), at(due))
    on_due = {line.plate: line for line in reconcile("lot-7", lot.log, DEPOSIT, due)}
    assert on_due["101"].refunded == [f"lot-7-{first} done"] and on_due["101"].overdue == []
    later = {
        line.plate: line for line in reconcile("lot-7", lot.log, DEPOSIT, due + dt.timedelta(1))
    }
    assert later["101"].refunded == [] and later["101"].overdue == [f"lot-7-{second}"]
    assert later["102"].overdue == []  # the winner's is held, owed to no date
