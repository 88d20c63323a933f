"""The rules of 电子保函 (auction/money/guarantee.py) on a lot: filed, confirmed by its
issuer, revoked. lot.lua decides the same (its `on_guarantee*`).

A revocation that leaves a bidder who holds a bid that could win (the lead, a standing share,
a sealed bid, a place in the lottery's pool) without security suspends the lot, by the
platform, for `REVOKED` (its reason): bids are irrevocable and the law's decision is the
staff's, not the platform's (RULES §1.4, §5.6), so host and supervisor resume it, the bid
standing, or terminate it (两人操作).

A refusal here writes nothing (like a deposit past its deadline): `GUARANTEE_SHORT` or
`GUARANTEE_EXPIRES` when it is filed, `DEADLINE_PASSED` outside the deposit window,
`PHASE_CLOSED` after the close, `CONFLICT` for a number filed before, `NOT_FOUND` for one
never filed, `ALREADY_SUBMITTED` for a confirmation or revocation said before."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auction.errors import Conflict, NotFound, Refused
from auction.log import EntryLog
from auction.lot.admission import bidder_of, open_by, qualifies, with_bidder
from auction.lot.state import Bidder, LotPhase, LotState
from auction.lot.suspension import suspend
from auction.money.guarantee import (
    MARGIN_DAYS,
    ConfirmGuarantee,
    Filed,
    FileGuarantee,
    RevokeGuarantee,
    day_number,
)

__all__ = ["REVOKED", "confirm", "could_win", "file", "revoke"]

REVOKED = "guarantee_revoked"  # the platform's reason when a revocation suspends the lot
BIDDING = frozenset({LotPhase.FREE, LotPhase.INQUIRY, LotPhase.LIMITED, LotPhase.CAPPED,
                     LotPhase.DUTCH, LotPhase.SEALED})  # fmt: skip
DAY_MS = 86_400_000
BEIJING_MS = 8 * 3_600_000


def file(
    s: LotState, cmd: FileGuarantee, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    bidder = bidder_of(s, cmd.bidder_id)
    open_by(s, s.deposit_by, now)
    if cmd.number in s.guarantees:
        raise Conflict("保函编号已登记", "this guarantee is filed already")
    if cmd.amount < s.config.deposit:
        raise Refused("GUARANTEE_SHORT")
    last_day = (s.config.free_ends_at + BEIJING_MS) // DAY_MS  # its day in Beijing
    if day_number(cmd.valid_until) < last_day + MARGIN_DAYS:
        raise Refused("GUARANTEE_EXPIRES")
    seq = log.add(
        now, "guarantee", False, plate=bidder.plate, number=cmd.number, issuer=cmd.issuer,
        amount=cmd.amount, valid_until=cmd.valid_until, actor=cmd.actor,
    )  # fmt: skip
    filed = Filed(
        bidder_id=bidder.bidder_id, amount=cmd.amount, valid_until=cmd.valid_until, seq=seq
    )
    s = replace(s, guarantees={**s.guarantees, cmd.number: filed})
    return s, {"accepted": True, "seq": seq}


def confirm(
    s: LotState, cmd: ConfirmGuarantee, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    filed, bidder = _found(s, cmd.number)
    open_by(s, s.deposit_by, now)
    if filed.status != "filed":
        raise Refused("ALREADY_SUBMITTED")
    return _decided(s, cmd.number, filed, "confirmed", bidder, now, log, cmd.actor)


def revoke(
    s: LotState, cmd: RevokeGuarantee, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    filed, bidder = _found(s, cmd.number)
    open_by(s, None, now)
    if filed.status == "revoked":
        raise Refused("ALREADY_SUBMITTED")
    return _decided(s, cmd.number, filed, "revoked", bidder, now, log, cmd.actor)


def _found(s: LotState, number: str) -> tuple[Filed, Bidder]:
    filed = s.guarantees.get(number)
    if filed is None:
        raise NotFound("guarantee")
    return filed, bidder_of(s, filed.bidder_id)


def _decided(
    s: LotState, number: str, filed: Filed, status: str, bidder: Bidder, now: int,
    log: EntryLog, actor: str | None,
) -> tuple[LotState, dict[str, Any]]:  # fmt: skip
    guarantees = {**s.guarantees, number: replace(filed, status=status)}
    guaranteed = any(
        g.bidder_id == bidder.bidder_id and g.status == "confirmed" for g in guarantees.values()
    )
    s = with_bidder(replace(s, guarantees=guarantees), bidder, guaranteed=guaranteed)
    bidder = s.bidders[bidder.bidder_id]
    qualified = qualifies(s, bidder)
    s = with_bidder(s, bidder, qualified=qualified)
    seq = log.add(now, f"guarantee_{status}", False, plate=bidder.plate, number=number,
                  qualified=qualified, actor=actor)  # fmt: skip
    if not qualified and s.phase in BIDDING and could_win(s, bidder):
        s, _ = suspend(s, now, log, "platform", REVOKED)
    return s, {"accepted": True, "seq": seq, "qualified": qualified}


def could_win(s: LotState, bidder: Bidder) -> bool:
    """Whether the bidder holds a bid that the close could make a winner of."""
    who = bidder.bidder_id
    return (
        who in (s.leader, s.indicator_leader)
        or who in s.acceptors
        or bidder.standing is not None
        or bidder.sealed_box is not None
    )
