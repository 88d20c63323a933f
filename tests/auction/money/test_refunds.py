"""Refund instructions read from a lot's log (auction/money/refunds.py): one a deposit, to
the account it came from, losers' due a number of 法定工作日 after the close (checked
against `chinese-calendar`'s own count across 国庆 and 春节 and their adjusted workdays), a
winner's held toward the price, nothing before the close."""

from __future__ import annotations

import datetime as dt
from typing import Any

import chinese_calendar  # type: ignore[import-untyped]
import pytest

from auction.china import BEIJING, workday
from auction.log import Tick
from auction.lot.state import Deposit, Register
from auction.money.refunds import REFUND_DAYS, refunds
from tests.auction.lot.test_replay import AUCTION, MIN, Lot, bid

WAN = 1_000_000


def at(day: dt.date, hour: int = 10) -> int:
    """ms of `day` at `hour` o'clock in Beijing."""
    return int(dt.datetime(day.year, day.month, day.day, hour, tzinfo=BEIJING).timestamp() * 1000)


def closed_on(day: dt.date, payers: bool = True) -> Lot:
    """An auction that closes on `day`: A pays twice (split), B once; B wins."""
    start = at(day)
    lot = Lot.new(AUCTION | {"opens_at": start, "free_ends_at": start + 60 * MIN})
    for who, plate in (("A", "101"), ("B", "102")):
        lot.do(Register(bidder_id=who, plate=plate, name=f"{who}公司"), start - MIN)
    for who, amount, ref in (("A", 4 * WAN, "a1"), ("A", 6 * WAN, "a2"), ("B", 10 * WAN, "b1")):
        payer = f"h:{who}-account" if payers else None
        lot.do(Deposit(bidder_id=who, amount=amount, kind="cash", ref=ref, payer=payer), start - 1)
    lot.do(bid("A", 34 * WAN), start + 1000)
    lot.do(bid("B", 35 * WAN), start + 2000)
    lot.do(Tick(), start + 60 * MIN)
    lot.do(Tick(), start + 65 * MIN)  # the countdown ran out: sold to B
    return lot


@pytest.mark.parametrize(
    "closing",
    [
        dt.date(2025, 9, 30),  # 国庆 and 中秋: Oct 1-8 off, Sat Oct 11 a workday
        dt.date(2025, 9, 26),  # the Sunday before (Sep 28) a workday in lieu
        dt.date(2026, 2, 13),  # 春节 2026: Feb 15-23 off, Sat Feb 14 and Feb 28 workdays
        dt.date(2026, 2, 27),
        dt.date(2026, 9, 30),  # 国庆 2026
    ],
)
def test_losers_are_due_in_working_days_as_the_calendar_counts_them(closing: dt.date) -> None:
    lot = closed_on(closing)
    made = refunds("lot-7", lot.log)
    expected = chinese_calendar.find_workday(REFUND_DAYS, closing)
    losers = [r for r in made if r.plate == "101"]
    assert [(r.amount, r.due, r.status) for r in losers] == [
        (4 * WAN, expected.isoformat(), "due"),
        (6 * WAN, expected.isoformat(), "due"),
    ]  # the split transfer: one instruction each, back where each came from
    assert all(r.payer == "h:A-account" and r.calendar_known for r in losers)
    days = [closing + dt.timedelta(days=n) for n in range(1, (expected - closing).days + 1)]
    assert sum(workday(d)[0] for d in days) == REFUND_DAYS and workday(expected)[0]


def test_the_winner_s_deposit_is_held_and_each_refund_names_its_deposit() -> None:
    lot = closed_on(dt.date(2026, 3, 10))
    made = refunds("lot-7", lot.log)
    deposits = [e["seq"] for e in lot.log if e["kind"] == "deposit"]
    assert [r.refund_id for r in made] == [f"lot-7-{seq}" for seq in deposits]
    won = [r for r in made if r.plate == "102"]
    assert [(r.status, r.held, r.due, r.amount) for r in won] == [("due", True, None, 10 * WAN)]


def test_nothing_is_due_before_the_close_and_a_failed_lot_returns_all() -> None:
    running = closed_on(dt.date(2026, 3, 10))
    running.log = [e for e in running.log if e["kind"] != "closed"]
    assert refunds("lot-7", running.log) == []
    opens = at(dt.date(2026, 3, 10))
    failed = Lot.new(AUCTION | {"opens_at": opens, "free_ends_at": opens + 60 * MIN})
    failed.do(Register(bidder_id="A", plate="101", name="甲"), 0)
    failed.do(Deposit(bidder_id="A", amount=10 * WAN, kind="guarantee", ref="g1"), 0)
    for due in (opens, opens + 60 * MIN, opens + 65 * MIN):  # each deadline on time
        failed.do(Tick(), due)  # no bid: 流拍
    (refund,) = refunds("lot-7", failed.log)
    assert (refund.status, refund.kind, refund.payer) == ("due", "guarantee", None)


def test_a_year_the_calendar_does_not_know_counts_weekdays_and_says_so() -> None:
    last: Any = max(d for d in chinese_calendar.holidays)  # its last published holiday
    closing = dt.date(last.year, 12, 29)
    made = refunds("lot-7", closed_on(closing).log)
    loser = next(r for r in made if r.status == "due")
    assert not loser.calendar_known
    due = dt.date.fromisoformat(loser.due or "")
    weekdays = [closing + dt.timedelta(days=n) for n in range(1, (due - closing).days + 1)]
    assert sum(d.weekday() < 5 for d in weekdays) == REFUND_DAYS
