"""Money after the close (auction/money/settlement.py): the contract, the default, and the
bank's word on each refund. lot.lua decides the same (its `on_contract`, `on_default`,
`on_refunded`).

Only a sold lot has a contract or a default, and only one of them: `PHASE_CLOSED` before
the close or for a lot not sold, `ALREADY_SUBMITTED` once one is recorded. A default takes
two people: the first role's call is logged as asked (`requested`, action "default"), the
other role's records it (`defaulted`); the same role twice is a CONFLICT. A refund is named
by the seq of the deposit (or guarantee) entry it returns; `NOT_FOUND` for any other seq;
a winner's is `NOT_READY` until the contract and never after a default (forfeited); it goes
`sent` then `done` (`done` straight away for a bank that reports only that), each once
(`ALREADY_SUBMITTED`). Every step is a private entry: the staff's and the bank's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auction.errors import Conflict, NotFound, Refused
from auction.log import EntryLog
from auction.lot.state import LotPhase, LotState
from auction.money.settlement import Contract, Default, Refunded

__all__ = ["contract", "default", "refunded"]


def _sold(s: LotState) -> None:
    if s.phase != LotPhase.CLOSED or s.outcome != "sold":
        raise Refused("PHASE_CLOSED")
    if s.settled is not None:
        raise Refused("ALREADY_SUBMITTED")


def contract(
    s: LotState, cmd: Contract, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    _sold(s)
    seq = log.add(now, "contract", False, actor=cmd.actor)
    return replace(s, settled="contract"), {"accepted": True, "seq": seq}


def default(s: LotState, cmd: Default, now: int, log: EntryLog) -> tuple[LotState, dict[str, Any]]:
    _sold(s)
    if s.pending is None or s.pending[0] != "default":
        seq = log.add(now, "requested", False, action="default", by=cmd.by, reason=cmd.reason,
                      actor=cmd.actor)  # fmt: skip
        return replace(s, pending=("default", cmd.by)), {"accepted": True, "seq": seq,
                                                          "pending": "default"}  # fmt: skip
    if s.pending[1] == cmd.by:
        raise Conflict("须由另一方确认", "the other role must confirm")
    seq = log.add(now, "defaulted", False, by=cmd.by, reason=cmd.reason, actor=cmd.actor)
    return replace(s, pending=None, settled="default"), {"accepted": True, "seq": seq}


def refunded(
    s: LotState, cmd: Refunded, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    if s.phase != LotPhase.CLOSED:
        raise Refused("PHASE_CLOSED")
    owner = s.paid.get(cmd.seq) or next(
        (
            g.bidder_id
            for g in s.guarantees.values()
            if g.seq == cmd.seq and g.status == "confirmed"
        ),
        None,
    )
    if owner is None:
        raise NotFound("refund")
    if owner in s.winners and s.settled != "contract":
        raise Refused("NOT_READY")  # held toward the price, or forfeited
    was = s.refunded.get(cmd.seq)
    if was == "done" or was == cmd.status:
        raise Refused("ALREADY_SUBMITTED")
    seq = log.add(now, "refund", False, plate=s.bidders[owner].plate, refund=cmd.seq,
                  status=cmd.status, actor=cmd.actor)  # fmt: skip
    return replace(s, refunded={**s.refunded, cmd.seq: cmd.status}), {"accepted": True, "seq": seq}
