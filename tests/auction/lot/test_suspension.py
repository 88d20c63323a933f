"""Suspension (中止), resumption and termination (auction/lot/suspension.py): what each staff
call writes and answers, what it refuses, the two-person rule, and the registration and
deposit deadlines a suspension moves on (RULES §1.9, §5.7)."""

from __future__ import annotations

from typing import Any

import pytest

from auction.errors import BadMessage, Conflict
from auction.log import EntryLog, Tick
from auction.lot import rules
from auction.lot.config import LotConfig
from auction.lot.replay import replay
from auction.lot.state import (
    Accept,
    Command,
    LotState,
    Register,
    Resume,
    Suspend,
    Terminate,
    Unmask,
)
from auction.lot.suspension import suspend_command, two_person
from tests.auction.lot.test_decisions import DUTCH, OK, Row, check, closed, no
from tests.auction.lot.test_rules import L1, MIN, SECRETS, Play, run

SUSPENDED: list[tuple[int, Command, str]] = [(10 * MIN, Suspend(by="host", reason="断网"), "ok")]
CLOSED: list[tuple[int, Command, str]] = [(2 * MIN + 5, Accept(bidder_id="B"), "ok")]  # DUTCH

ROWS: dict[str, Row] = {
    "suspend": Row(
        L1, [], Suspend(by="host", reason="网络故障"), 10 * MIN, OK,
        [{"ts": 10 * MIN, "kind": "suspended", "pub": True, "phase": "free",
          "left": 50 * MIN, "by": "host", "reason": "网络故障"}],
        after={"phase": "suspended", "deadline": None, "held": ("free", 50 * MIN, 10 * MIN)},
    ),
    "the first role asks to resume": Row(
        L1, SUSPENDED, Resume(by="supervisor", reason="已修复"), 12 * MIN,
        OK | {"pending": "resume"},
        [{"ts": 12 * MIN, "kind": "requested", "pub": False, "action": "resume",
          "by": "supervisor", "reason": "已修复"}],
        after={"phase": "suspended", "pending": ("resume", "supervisor")},
    ),
    "the other role resumes with the time the phase had left": Row(
        L1, [*SUSPENDED, (12 * MIN, Resume(by="supervisor", reason="已修复"), "ok")],
        Resume(by="host", reason="同意"), 13 * MIN,
        OK | {"deadline": 63 * MIN},
        [{"ts": 13 * MIN, "kind": "resumed", "pub": True, "phase": "free",
          "deadline": 63 * MIN, "by": "host", "reason": "同意"}],
        after={"phase": "free", "deadline": 63 * MIN, "held": None, "pending": None,
               "shift": 3 * MIN},
    ),
    "the first role asks to terminate": Row(
        L1, [], Terminate(by="host", reason="出让人撤回"), 5 * MIN,
        OK | {"pending": "terminate"},
        [{"ts": 5 * MIN, "kind": "requested", "pub": False, "action": "terminate",
          "by": "host", "reason": "出让人撤回"}],
        after={"phase": "free", "pending": ("terminate", "host")},
    ),
    "the other role terminates": Row(
        L1, [(5 * MIN, Terminate(by="host", reason="出让人撤回"), "ok")],
        Terminate(by="supervisor", reason="同意"), 6 * MIN, OK,
        [closed(6 * MIN, by="supervisor", reason="同意", outcome="terminated")],
        after={"phase": "closed", "outcome": "terminated", "pending": None},
    ),
    "a suspended lot terminated is no longer held": Row(
        L1, [*SUSPENDED, (11 * MIN, Terminate(by="supervisor", reason="撤回"), "ok")],
        Terminate(by="host", reason="同意"), 12 * MIN, OK,
        [closed(12 * MIN, by="host", reason="同意", outcome="terminated")],
        after={"phase": "closed", "held": None, "deadline": None},
    ),
    "suspend a suspended lot": Row(
        L1, SUSPENDED, Suspend(by="supervisor", reason="再次"), 11 * MIN,
        no("CONFLICT"), [], names=None,
    ),
    "resume asked by the same role twice": Row(
        L1, [*SUSPENDED, (11 * MIN, Resume(by="host", reason="恢复"), "ok")],
        Resume(by="host", reason="确认"), 12 * MIN, no("CONFLICT"), [], names=None,
        after={"phase": "suspended", "pending": ("resume", "host")},
    ),
    "terminate asked by the same role twice": Row(
        L1, [(5 * MIN, Terminate(by="host", reason="撤回"), "ok")],
        Terminate(by="host", reason="确认"), 6 * MIN, no("CONFLICT"), [], names=None,
        after={"phase": "free", "pending": ("terminate", "host")},
    ),
    "resume a lot that is not suspended": Row(
        L1, [], Resume(by="host", reason="恢复"), 5 * MIN, no("PHASE_CLOSED"), [],
        names=None, after={"phase": "free", "pending": None},
    ),
    "suspend a closed lot": Row(
        DUTCH, CLOSED, Suspend(by="host", reason="断网"), 3 * MIN, no("PHASE_CLOSED"), [],
        names=None,
    ),
    "resume a closed lot": Row(
        DUTCH, CLOSED, Resume(by="host", reason="恢复"), 3 * MIN, no("PHASE_CLOSED"), [],
        names=None,
    ),
    "terminate a closed lot": Row(
        DUTCH, CLOSED, Terminate(by="host", reason="撤回"), 3 * MIN, no("PHASE_CLOSED"), [],
        names=None, after={"outcome": "sold", "pending": None},
    ),
    "the supervisor breaks the glass": Row(
        L1, [], Unmask(by="supervisor", reason="纪检调查", actor="s01"), 7 * MIN, OK,
        [{"ts": 7 * MIN, "kind": "unmasked", "pub": True, "by": "supervisor",
          "reason": "纪检调查", "actor": "s01"}],
        after={"phase": "free", "deadline": 60 * MIN},
    ),
    "the glass broken while suspended leaves the lot suspended": Row(
        L1, SUSPENDED, Unmask(by="supervisor", reason="核查"), 11 * MIN, OK,
        [{"ts": 11 * MIN, "kind": "unmasked", "pub": True, "by": "supervisor",
          "reason": "核查"}],
        after={"phase": "suspended", "held": ("free", 50 * MIN, 10 * MIN)},
    ),
    "break the glass of a closed lot": Row(
        DUTCH, CLOSED, Unmask(by="supervisor", reason="核查"), 3 * MIN, no("PHASE_CLOSED"), [],
        names=None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(ROWS))
def test_a_staff_call_writes_and_answers(name: str) -> None:
    check(ROWS[name])


def _suspended() -> LotState:
    return run(Play(L1, SUSPENDED, ""), close=False)[0]


def test_a_second_suspension_is_a_conflict_that_says_so() -> None:
    state = _suspended()
    with pytest.raises(Conflict) as raised:
        suspend_command(state, Suspend(by="supervisor", reason="再次"), 11 * MIN, EntryLog(state))
    assert raised.value.to_dict() == {"code": "CONFLICT", "message": "竞价已中止"}
    assert raised.value.to_dict("en") == {
        "code": "CONFLICT",
        "message": "the lot is suspended already",
    }


def test_one_role_confirming_itself_is_a_conflict_that_says_so() -> None:
    state = rules.step(_suspended(), Resume(by="host", reason="恢复"), 11 * MIN).state
    with pytest.raises(Conflict) as raised:
        two_person(state, Resume(by="host", reason="确认"), 12 * MIN, EntryLog(state))
    assert raised.value.to_dict() == {"code": "CONFLICT", "message": "须由另一方确认"}
    assert raised.value.to_dict("en") == {
        "code": "CONFLICT",
        "message": "the other role must confirm",
    }


def test_a_resumed_lot_suspended_again_takes_a_fresh_pair_of_calls() -> None:
    """The first resume's request is spent: the role that asked it may ask again."""
    state = _suspended()
    calls: list[tuple[int, Command]] = [
        (11 * MIN, Resume(by="host", reason="恢复")),
        (12 * MIN, Resume(by="supervisor", reason="同意")),
        (13 * MIN, Suspend(by="supervisor", reason="又断网")),
    ]
    for at, command in calls:
        state = rules.step(state, command, at).state
    asked = rules.step(state, Resume(by="host", reason="恢复"), 14 * MIN)
    assert asked.answer["pending"] == "resume" and asked.state.pending == ("resume", "host")
    back = rules.step(asked.state, Resume(by="supervisor", reason="同意"), 15 * MIN)
    assert back.state.phase == "free" and back.state.pending is None


DEADLINES: list[tuple[str, dict[str, Any], int, tuple[int, int]]] = [
    # (name, config, suspended at; resumed 6 minutes later) -> (apply_by, deposit_by)
    ("suspended before both", {"apply_ends_at": 20 * MIN, "deposit_ends_at": 40 * MIN},
     10 * MIN, (26 * MIN, 46 * MIN)),
    ("suspended at registration's own moment", {"apply_ends_at": 20 * MIN,
     "deposit_ends_at": 40 * MIN}, 20 * MIN, (26 * MIN, 46 * MIN)),
    ("suspended at the deposits' own moment", {"apply_ends_at": 40 * MIN,
     "deposit_ends_at": 20 * MIN}, 20 * MIN, (46 * MIN, 26 * MIN)),
    ("suspended after the deposits closed", {"apply_ends_at": 40 * MIN,
     "deposit_ends_at": 20 * MIN}, 30 * MIN, (46 * MIN, 20 * MIN)),
    ("suspended after registration closed", {"apply_ends_at": 20 * MIN,
     "deposit_ends_at": 40 * MIN}, 30 * MIN, (20 * MIN, 46 * MIN)),
]  # fmt: skip


def _resumed(changes: dict[str, Any], at: int) -> LotState:
    state = rules.step(rules.create(LotConfig.parse(L1 | changes), SECRETS, 0).state,
                       Tick(), 0).state  # fmt: skip
    calls: list[tuple[int, Command]] = [
        (at, Suspend(by="host", reason="断网")),
        (at + 5 * MIN, Resume(by="host", reason="恢复")),
        (at + 6 * MIN, Resume(by="supervisor", reason="同意")),
    ]
    for when, command in calls:
        state = rules.step(state, command, when).state
    return state


@pytest.mark.parametrize(
    ("changes", "at", "moved"), [d[1:] for d in DEADLINES], ids=[d[0] for d in DEADLINES]
)
def test_a_suspension_moves_on_the_deadlines_it_began_before(
    changes: dict[str, Any], at: int, moved: tuple[int, int]
) -> None:
    state = _resumed(changes, at)
    assert (state.apply_by, state.deposit_by) == moved
    assert state.held is None


@pytest.mark.parametrize(("at", "code"), [(26 * MIN, None), (26 * MIN + 1, "DEADLINE_PASSED")])
def test_registration_after_a_resume_closes_at_the_moved_deadline(
    at: int, code: str | None
) -> None:
    state = _resumed({"apply_ends_at": 20 * MIN, "deposit_ends_at": 40 * MIN}, 10 * MIN)
    answer = rules.step(state, Register(bidder_id="D", plate="404", name="D"), at).answer
    assert answer.get("code") == code


@pytest.mark.parametrize("by", ["host", "bank", ""])
def test_only_the_supervisor_may_break_the_glass(by: str) -> None:
    with pytest.raises(BadMessage) as refused:
        Unmask(by=by, reason="看看")
    assert refused.value.field == "by"


def test_breaking_the_glass_needs_a_reason() -> None:
    with pytest.raises(BadMessage) as refused:
        Unmask(by="supervisor", reason="")
    assert refused.value.field == "reason"


def test_a_log_with_a_broken_glass_replays() -> None:
    """`openbid verify` rebuilds the break-glass command from its entry: the replayed log
    holds the same entries (an edited one is the chain's and the checkpoint's to catch)."""
    made = rules.create(LotConfig.parse(L1), SECRETS, 0)
    state, log = made.state, list(made.entries)
    moves: list[tuple[int, Command]] = [
        (2 * MIN, Unmask(by="supervisor", reason="纪检调查", actor="s01")),
        (3 * MIN, Terminate(by="supervisor", reason="终止")),
        (4 * MIN, Terminate(by="host", reason="同意")),
    ]
    for at, command in moves:
        step = rules.step(state, command, at)
        state, log = step.state, log + step.entries
    assert [e["kind"] for e in log].count("unmasked") == 1
    replayed = replay(log, "lot1")
    assert (replayed.seq, replayed.pseq, replayed.outcome) == (state.seq, state.pseq, "terminated")
    unmasked = [e for e in log if e["kind"] == "unmasked"]
    assert len(unmasked) == 1 and unmasked[0]["actor"] == "s01" and unmasked[0]["pub"] is True
