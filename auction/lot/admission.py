"""Who may bid on a lot: registration, deposits and the credit check (auction/parties/
check.py), decided as the rest of the rules (auction/lot/rules.py, whose `step` calls
these) and as lot.lua decides them.

A bidder qualifies once its deposits reach the lot's deposit (at once, for a lot without
one), unless the last credit check found it listed: the check goes just before each
deposit of a bidder registered from the party library, so a party listed after it
registered pays and still does not qualify.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auction.errors import Conflict, NotFound, Refused
from auction.log import EntryLog
from auction.lot.state import Bidder, Deposit, LotPhase, LotState, Register
from auction.parties.check import CreditCheck, log_check

__all__ = ["bidder_of", "credit_check", "deposit", "open_by", "qualifies", "register",
           "with_bidder"]  # fmt: skip


def bidder_of(s: LotState, bidder_id: str) -> Bidder:
    bidder = s.bidders.get(bidder_id)
    if bidder is None:
        raise NotFound("bidder")
    return bidder


def with_bidder(s: LotState, bidder: Bidder, **changes: Any) -> LotState:
    return replace(s, bidders={**s.bidders, bidder.bidder_id: replace(bidder, **changes)})


def deposit(s: LotState, cmd: Deposit, now: int, log: EntryLog) -> tuple[LotState, dict[str, Any]]:
    bidder = bidder_of(s, cmd.bidder_id)
    first = s.refs.get(cmd.ref)
    if first is not None:  # a bank's retry gets its first answer; another bidder's ref is not
        same = first["bidder_id"] == cmd.bidder_id  # this one's (review L5)
        return s, first["answer"] if same else {"accepted": False, "code": "CONFLICT"}
    open_by(s, s.deposit_by, now)
    total = bidder.deposit + cmd.amount
    qualified = qualifies(s, replace(bidder, deposit=total))
    route = {} if cmd.payer is None else {"payer": cmd.payer}
    seq = log.add(
        now, "deposit", False, plate=bidder.plate, amount=cmd.amount, deposit_kind=cmd.kind,
        ref=cmd.ref, total=total, qualified=qualified, actor=cmd.actor, **route,
    )  # fmt: skip
    answer = log.with_pseq({"accepted": True, "seq": seq, "total": total, "qualified": qualified})
    s = with_bidder(s, bidder, deposit=total, qualified=qualified)
    refs = {**s.refs, cmd.ref: {"bidder_id": bidder.bidder_id, "answer": answer}}
    return replace(s, refs=refs, paid={**s.paid, seq: bidder.bidder_id}), answer


def register(
    s: LotState, cmd: Register, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    open_by(s, s.apply_by, now)
    if cmd.bidder_id in s.bidders or cmd.plate in s.plates:
        raise Conflict("号牌或竞买人已存在", "plate or bidder already registered")
    qualified = s.config.deposit == 0
    key = {"public_key": cmd.public_key} if cmd.public_key else {}
    seq = log.add(
        now, "registered", False, bidder_id=cmd.bidder_id, plate=cmd.plate, name=cmd.name,
        actor=cmd.actor, **key,
    )  # fmt: skip
    bidder = Bidder(bidder_id=cmd.bidder_id, plate=cmd.plate, name=cmd.name, qualified=qualified)
    s = replace(
        s,
        bidders={**s.bidders, cmd.bidder_id: bidder},
        plates={**s.plates, cmd.plate: cmd.bidder_id},
    )
    return s, {"accepted": True, "seq": seq, "plate": cmd.plate}


def credit_check(
    s: LotState, cmd: CreditCheck, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    """Log the check while what it checks for is open (registration or deposits); at a
    deposit, mark the bidder listed or clear."""
    open_by(s, s.apply_by if cmd.at == "register" else s.deposit_by, now)
    if cmd.bidder_id is not None:
        s = with_bidder(s, bidder_of(s, cmd.bidder_id), listed=cmd.listing is not None)
    return s, log_check(log, now, cmd)


def open_by(s: LotState, by: int | None, now: int) -> None:
    """Refused (no entry) once the lot has closed or the deadline `by` has passed."""
    if s.phase == LotPhase.CLOSED:
        raise Refused("PHASE_CLOSED")
    if by is not None and not s.window_open(by, now):
        raise Refused("DEADLINE_PASSED")


def qualifies(s: LotState, bidder: Bidder) -> bool:
    """Paid in full or guaranteed (电子保函, auction/lot/guarantees.py), and not on the
    blacklist at its last credit check."""
    paid = bidder.deposit >= s.config.deposit or bidder.guaranteed
    return paid and not bidder.listed
