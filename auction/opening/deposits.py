"""投标保证金 at an opening (RULES §3.3: 公布投标人名单 + DEPOSIT_CHECK): an opening that asks
for a deposit (`config.deposit`) takes each tenderer's deposits until its bidders are
published; then every published bidder carries its deposit status, `paid` (its cash covers
the deposit), `guarantee` (a guarantee does) or `none`, which the read-out announces
(唱标: "deposit status"). A tenderer without one is not turned away at the opening: its
bid goes to the evaluation (评标) with the status on record.

A deposit is a private entry (the staff's and its tenderer's); a bank's resend of a ref
gets its first answer, another tenderer's ref is a CONFLICT; after the publication it is
`PHASE_CLOSED`, logged as refused like the opening's other refusals."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auction.errors import Refused
from auction.log import EntryLog
from auction.opening.state import (
    OpeningPhase,
    OpeningState,
    TenderDeposit,
    Tenderer,
    tenderer_of,
    with_tenderer,
)

__all__ = ["deposit", "deposit_status", "shown"]


def deposit(
    s: OpeningState, c: TenderDeposit, now: int, log: EntryLog
) -> tuple[OpeningState, dict[str, Any]]:
    t = tenderer_of(s, c.bidder_id)
    first = s.refs.get(c.ref)
    if first is not None:
        same = first["bidder_id"] == c.bidder_id
        return s, dict(first["answer"]) if same else {"accepted": False, "code": "CONFLICT"}
    if s.phase not in (OpeningPhase.SCHEDULED, OpeningPhase.SIGN_IN):
        raise Refused("PHASE_CLOSED")
    cash = t.deposit + (c.amount if c.kind == "cash" else 0)
    guaranteed = t.guaranteed or (c.kind == "guarantee" and c.amount >= s.config.deposit)
    t = replace(t, deposit=cash, guaranteed=guaranteed)
    status = deposit_status(s, t)
    seq = log.add(now, "deposit", False, plate=t.plate, amount=c.amount, deposit_kind=c.kind,
                  ref=c.ref, total=cash, status=status, actor=c.actor)  # fmt: skip
    answer = log.with_pseq({"accepted": True, "seq": seq, "total": cash, "status": status})
    s = with_tenderer(s, t)
    return replace(s, refs={**s.refs, c.ref: {"bidder_id": t.bidder_id, "answer": answer}}), answer


def shown(s: OpeningState, t: Tenderer) -> dict[str, str]:
    """The tenderer's deposit status as published and read out, where the opening asks for
    a deposit (nothing where it does not: its logs read as before)."""
    return {"deposit": deposit_status(s, t)} if s.config.deposit > 0 else {}


def deposit_status(s: OpeningState, t: Tenderer) -> str:
    """`paid`, `guarantee` or `none`: what covers the tenderer's deposit."""
    if t.deposit >= s.config.deposit:
        return "paid"
    return "guarantee" if t.guaranteed else "none"
