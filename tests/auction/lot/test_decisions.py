"""What each command writes and answers, to the field: the entry (its kind, whether it is
public, every field) and the answer (accepted or the code, the seq and pseq of the entry it
names, and what it decided), and what the clock does at the edges of its deadlines.

The plays of test_rules.py check who wins; these rows check the words of every decision,
which the Lua script and `openbid verify` must reproduce exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from auction.log import Entry, Tick
from auction.lot import rules
from auction.lot.config import LotConfig
from auction.lot.state import (
    Accept,
    Bidder,
    Command,
    Continue,
    Deposit,
    LotState,
    PlaceBid,
    Register,
    Resume,
    Suspend,
)
from tests.auction.lot.test_rules import L1, L2, MIN, P1, SECRETS, WAN, Play, bid, run

CAP = 40 * WAN
CAPPED = L1 | {"cap": CAP, "free_ends_at": 0, "after_cap_s": 120}
SECONDARY = L1 | {"cap": CAP, "after_cap": "secondary", "secondary_increment": 10,
                  "free_ends_at": 0}  # fmt: skip
SEALED = P1 | {"mode": "sealed", "free_ends_at": 10 * MIN}
DUTCH = P1 | {"mode": "dutch", "dutch_step": 100_000, "dutch_tick_s": 60, "dutch_floor": 2_000_000}


def closed(ts: int, **fields: Any) -> Entry:
    """A `closed` entry with nothing revealed but the lottery seed, as a lot without a
    reserve writes it; `fields` set the rest."""
    return {
        "ts": ts, "kind": "closed", "pub": True, "outcome": "failed", "price": None,
        "winner_plate": None, "indicator": None, "reserve": None, "reserve_salt": None,
        "lottery_seed": SECRETS.lottery_seed, "lottery_plates": None, "lottery_share": None,
    } | fields  # fmt: skip


@dataclass
class Row:
    """A lot played to just before `command` (bidders A, B, C as plates 101, 102, 103, paid
    up); `answer` is the answer without seq and pseq, which must be those of the written
    entry `names` (None: an answer naming no entry); `entries` are written without seq and
    pseq (the pub flags give those); `after` holds fields of the state afterwards."""

    config: dict[str, Any]
    before: list[tuple[int, Command, str]]
    command: Command
    at: int
    answer: dict[str, Any]
    entries: list[Entry]
    names: int | None = 0
    after: dict[str, Any] = field(default_factory=dict)


def _stripped(entry: Entry) -> Entry:
    """The entry without its numbers, and without an `actor` when it names nobody (no
    command here names the staff member behind it)."""
    return {
        k: v
        for k, v in entry.items()
        if k not in ("seq", "pseq") and not (k == "actor" and v is None)
    }


def check(row: Row) -> LotState:
    state, _ = run(Play(row.config, row.before, ""), close=False)
    step = rules.step(state, row.command, row.at)
    assert [_stripped(e) for e in step.entries] == row.entries
    assert [e["seq"] for e in step.entries] == list(
        range(state.seq + 1, state.seq + 1 + len(step.entries))
    )
    named = {} if row.names is None else step.entries[row.names]
    numbers = {k: named[k] for k in ("seq", "pseq") if k in named}
    assert step.answer == row.answer | numbers
    assert {name: getattr(step.state, name) for name in row.after} == row.after
    return step.state


def refused(ts: int, plate: str, command: str, code: str, **fields: Any) -> Entry:
    return {"ts": ts, "kind": "refused", "pub": False, "plate": plate, "command": command,
            "code": code} | fields  # fmt: skip


def no(code: str) -> dict[str, Any]:
    return {"accepted": False, "code": code}


OK: dict[str, Any] = {"accepted": True}

ROWS: dict[str, Row] = {
    "register": Row(
        P1, [], Register(bidder_id="D", plate="404", name="丁某"), 1000,
        OK | {"plate": "404"},
        [{"ts": 1000, "kind": "registered", "pub": False, "bidder_id": "D", "plate": "404",
          "name": "丁某"}],
    ),
    "a deposit that completes the sum": Row(
        P1, [(1, Register(bidder_id="D", plate="404", name="D"), "ok")],
        Deposit(bidder_id="D", amount=P1["deposit"], kind="guarantee", ref="bank-9"), 2000,
        OK | {"total": P1["deposit"], "qualified": True},
        [{"ts": 2000, "kind": "deposit", "pub": False, "plate": "404",
          "amount": P1["deposit"], "deposit_kind": "guarantee", "ref": "bank-9",
          "total": P1["deposit"], "qualified": True}],
    ),
    "a deposit short of the sum": Row(
        P1, [(1, Register(bidder_id="D", plate="404", name="D"), "ok")],
        Deposit(bidder_id="D", amount=1, kind="cash", ref="bank-1"), 2000,
        OK | {"total": 1, "qualified": False},
        [{"ts": 2000, "kind": "deposit", "pub": False, "plate": "404", "amount": 1,
          "deposit_kind": "cash", "ref": "bank-1", "total": 1, "qualified": False}],
    ),
    "a bid in the free phase keeps its deadline": Row(
        P1, [], PlaceBid(bidder_id="A", bid_id="a1", price=2_618_000), 1000,
        OK | {"price": 2_618_000, "deadline": 30 * MIN},
        [{"ts": 1000, "kind": "bid", "pub": True, "plate": "101", "bid_id": "a1",
          "price": 2_618_000, "phase": "free", "deadline": 30 * MIN}],
        after={"price": 2_618_000, "leader": "A"},
    ),
    "a bid in 限时 past the cap stands at it and starts the cap's window": Row(
        CAPPED, [bid("A", 34_380_000, 1000)],
        PlaceBid(bidder_id="B", bid_id="b1", price=45 * WAN), 2000,
        OK | {"price": CAP, "deadline": 2000 + 120_000},
        [{"ts": 2000, "kind": "bid", "pub": True, "plate": "102", "bid_id": "b1",
          "price": CAP, "phase": "limited", "deadline": 2000 + 300_000},
         {"ts": 2000, "kind": "phase", "pub": True, "phase": "capped",
          "deadline": 2000 + 120_000}],
        after={"phase": "capped", "acceptors": ("B",), "leader": "B"},
    ),
    "a sealed bid": Row(
        SEALED, [], PlaceBid(bidder_id="A", bid_id="s1", sealed="box-a"), 1000,
        OK | {"deadline": 10 * MIN},
        [{"ts": 1000, "kind": "bid", "pub": False, "plate": "101", "bid_id": "s1",
          "sealed": "box-a", "phase": "sealed", "deadline": 10 * MIN}],
    ),
    "a second sealed bid": Row(
        SEALED, [(1000, PlaceBid(bidder_id="A", bid_id="s1", sealed="box-a"), "ok")],
        PlaceBid(bidder_id="A", bid_id="s2", sealed="box-b"), 2000,
        no("ALREADY_SUBMITTED"),
        [refused(2000, "101", "bid", "ALREADY_SUBMITTED", bid_id="s2", price=None,
                 indicator=None, sealed="box-b")],
    ),
    "a sealed bid at the deadline's own moment": Row(
        SEALED, [], PlaceBid(bidder_id="B", bid_id="s9", sealed="box-b"), 10 * MIN,
        no("PHASE_CLOSED"),
        [refused(10 * MIN, "102", "bid", "PHASE_CLOSED", bid_id="s9", price=None,
                 indicator=None, sealed="box-b")],
    ),
    "a price bid refused": Row(
        P1, [], PlaceBid(bidder_id="C", bid_id="c1", price=2_618_001), 1000,
        no("OFF_INCREMENT"),
        [refused(1000, "103", "bid", "OFF_INCREMENT", bid_id="c1", price=2_618_001,
                 indicator=None, sealed=None)],
    ),
    "an indicator in the secondary round": Row(
        SECONDARY, [bid("A", CAP, 1000)],
        PlaceBid(bidder_id="A", bid_id="i1", indicator=10), 2000,
        OK | {"indicator": 10, "deadline": 2000 + 300_000},
        [{"ts": 2000, "kind": "indicator", "pub": True, "plate": "101", "bid_id": "i1",
          "indicator": 10, "deadline": 2000 + 300_000}],
        after={"indicator": 10, "indicator_leader": "A", "deadline": 2000 + 300_000},
    ),
    "an unknown bidder": Row(
        P1, [], PlaceBid(bidder_id="Z", bid_id="z", price=2_618_000), 1000,
        no("NOT_FOUND"), [], names=None,
    ),
    "continue, after the clock opened the inquiry": Row(
        L2, [bid("A", 14 * WAN, 1000)], Continue(bidder_id="A"), 100 * MIN + 1000,
        OK,
        [{"ts": 100 * MIN, "kind": "phase", "pub": True, "phase": "inquiry",
          "deadline": 100 * MIN + 180_000},
         {"ts": 100 * MIN + 1000, "kind": "continue", "pub": False, "plate": "101"}],
        names=1,
    ),
    "continue in the free phase": Row(
        L2, [], Continue(bidder_id="B"), 1000, no("PHASE_CLOSED"),
        [refused(1000, "102", "continue", "PHASE_CLOSED")],
    ),
    "accept in the free phase": Row(
        L2, [], Accept(bidder_id="B"), 1000, no("PHASE_CLOSED"),
        [refused(1000, "102", "accept", "PHASE_CLOSED")],
    ),
    "continue while suspended": Row(
        L2, [(5000, Suspend(by="host", reason="断网"), "ok")], Continue(bidder_id="C"), 6000,
        no("SUSPENDED"), [refused(6000, "103", "continue", "SUSPENDED")],
    ),
    "accept while suspended": Row(
        CAPPED, [bid("A", CAP, 1000), (5000, Suspend(by="host", reason="断网"), "ok")],
        Accept(bidder_id="B"), 6000,
        no("SUSPENDED"), [refused(6000, "102", "accept", "SUSPENDED")],
    ),
    "accept the cap price": Row(
        CAPPED, [bid("A", CAP, 1000)], Accept(bidder_id="B"), 2000,
        OK | {"price": CAP},
        [{"ts": 2000, "kind": "accept", "pub": False, "plate": "102", "price": CAP}],
        after={"acceptors": ("A", "B"), "phase": "capped"},
    ),
    "accept a dutch price": Row(
        DUTCH, [], Accept(bidder_id="B"), 2 * MIN + 5,
        OK | {"price": 2_418_000},
        [{"ts": 2 * MIN + 5, "kind": "accept", "pub": False, "plate": "102",
          "price": 2_418_000},
         closed(2 * MIN + 5, outcome="sold", price=2_418_000, winner_plate="102")],
        after={"phase": "closed", "leader": "B", "winner": "B", "price": 2_418_000},
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(ROWS))
def test_a_command_writes_and_answers(name: str) -> None:
    check(ROWS[name])


def test_a_new_lot_answers_with_its_created_entry() -> None:
    made = rules.create(LotConfig.parse(P1), SECRETS, 7)
    assert made.answer == {"accepted": True, "seq": 1, "pseq": 1}
    assert [(e["seq"], e["pseq"], e["ts"], e["kind"], e["pub"]) for e in made.entries] == [
        (1, 1, 7, "created", True)
    ]


def test_a_registration_records_the_bidder_as_given() -> None:
    state, _ = run(Play(P1, [], ""), close=False)
    step = rules.step(state, Register(bidder_id="D", plate="404", name="丁某有限公司"), 1000)
    assert step.state.bidders["D"] == Bidder(bidder_id="D", plate="404", name="丁某有限公司")
    assert step.state.plates["404"] == "D"


# ---- the clock at the edges of its deadlines ----------------------------------------------


def _free_l1() -> LotState:
    return run(Play(L1, [], ""), close=False)[0]  # free until 60 min


@pytest.mark.parametrize(
    ("late", "entries"),
    [
        (0, [{"ts": 60 * MIN, "kind": "phase", "pub": True, "phase": "limited",
              "deadline": 60 * MIN + 300_000}]),
        (5000, [{"ts": 60 * MIN, "kind": "phase", "pub": True, "phase": "limited",
                 "deadline": 60 * MIN + 300_000}]),
        (5001, [{"ts": 60 * MIN + 5001, "kind": "suspended", "pub": True, "phase": "free",
                 "left": 0, "by": "platform", "reason": "platform"}]),
    ],
    ids=["on time", "at the grace's end", "one ms past the grace"],
)  # fmt: skip
def test_a_deadline_reached_within_its_grace_moves_the_lot_and_later_suspends_it(
    late: int, entries: list[Entry]
) -> None:
    ticked = rules.step(_free_l1(), Tick(), 60 * MIN + late)
    assert [_stripped(e) for e in ticked.entries] == entries


def test_a_phase_suspended_past_its_deadline_resumes_with_nothing_left() -> None:
    held = rules.step(_free_l1(), Tick(), 70 * MIN).state
    assert held.held == ("free", 0, 70 * MIN)
    asked = rules.step(held, Resume(by="host", reason="恢复"), 80 * MIN).state
    back = rules.step(asked, Resume(by="supervisor", reason="同意"), 81 * MIN)
    assert back.answer["deadline"] == 81 * MIN and back.state.deadline == 81 * MIN
    moved = rules.step(back.state, Tick(), 81 * MIN)
    assert [(e["kind"], e["phase"]) for e in moved.entries] == [("phase", "limited")]


@pytest.mark.parametrize("opens_at", [0, 10 * MIN])
def test_a_lot_with_no_free_time_opens_straight_into_limited(opens_at: int) -> None:
    config = LotConfig.parse(L1 | {"opens_at": opens_at, "free_ends_at": opens_at})
    opened = rules.step(rules.create(config, SECRETS, 0).state, Tick(), opens_at)
    assert [_stripped(e) for e in opened.entries] == [
        {"ts": opens_at, "kind": "phase", "pub": True, "phase": "limited",
         "deadline": opens_at + 300_000}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "phase", "deadline"),
    [
        (SEALED | {"opens_at": 10 * MIN, "free_ends_at": 20 * MIN}, "sealed", 25 * MIN),
        # seven steps from 26,180.00 to the floor and one tick on it: 8 minutes after opening
        (DUTCH | {"opens_at": 10 * MIN, "free_ends_at": 10 * MIN}, "dutch", 23 * MIN),
    ],
)
def test_a_suspension_before_the_opening_moves_the_configured_close_on(
    raw: dict[str, Any], phase: str, deadline: int
) -> None:
    state = rules.create(LotConfig.parse(raw), SECRETS, 0).state
    state = rules.step(state, Suspend(by="host", reason="公告更正"), 1 * MIN).state
    state = rules.step(state, Resume(by="host", reason="更正完毕"), 5 * MIN).state
    state = rules.step(state, Resume(by="supervisor", reason="同意"), 6 * MIN).state  # 5 min
    assert state.deadline == 15 * MIN  # the 9 minutes it had left before opening
    opened = rules.step(state, Tick(), 15 * MIN)
    assert (opened.state.phase, opened.state.deadline) == (phase, deadline)
