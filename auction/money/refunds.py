"""Refunds (保证金原路退还): one instruction per deposit, back to the account it came from.

Read from a closed lot's log alone, so anyone who verifies the log can check the list: each
`deposit` entry is one instruction for its amount, to its `payer` (blinded in the log; the
staff's list opens it). A loser's is due the lot's close date plus the working days the
rules give (RULES L-9: 5 working days after the activity; 法定工作日 by the State
Council's calendar, auction/china.py), a winner's is held as 定金 toward the price
(`held`: due, with no date yet) until its contract is recorded, then due as many working days after
that, or `forfeited` by a recorded default (auction/money/settlement.py). The bank's word
moves each on to `sent`, then `done`. A deposit the host entered as a
guarantee, and every 电子保函 its issuer confirmed and did not revoke (auction/money/
guarantee.py), is released rather than paid back: kind "guarantee", no account.

Nothing is due before the close: a lot still running refunds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auction.china import after_workdays, date_of
from auction.log import Entry

__all__ = ["REFUND_DAYS", "Refund", "refunds"]

REFUND_DAYS = 5  # RULES L-9: losers' deposits within 5 working days after the activity


@dataclass(frozen=True, slots=True, kw_only=True)
class Refund:
    refund_id: str  # the lot and the seq of the deposit it returns
    plate: str
    amount: int
    kind: str  # "cash": paid back; "guarantee": released
    payer: str | None  # where it goes back to, blinded as the log holds it
    status: str  # "due", "sent", "done", or "forfeited" (by a default)
    due: str | None  # the last day to pay it back (Beijing, YYYY-MM-DD); None while held
    calendar_known: bool  # whether the holiday calendar knew every day counted to `due`
    held: bool  # a winner's, toward the price (定金) until the contract: due with no date


def refunds(lot_id: str, entries: Sequence[Entry], days: int = REFUND_DAYS) -> list[Refund]:
    """Every deposit's refund instruction, in the log's order; none before the close."""
    closed = next((e for e in entries if e.get("kind") == "closed"), None)
    if closed is None:
        return []
    winners = {closed.get("winner_plate")} | {row[0] for row in closed.get("allocated") or []}
    due, known = after_workdays(date_of(closed["ts"]), days)
    settled = next((e for e in entries if e.get("kind") in ("contract", "defaulted")), None)
    if settled is not None and settled["kind"] == "contract":
        signed, signed_known = after_workdays(date_of(settled["ts"]), days)
    reported = {e["refund"]: e["status"] for e in entries if e.get("kind") == "refund"}
    said = {e["number"]: e["kind"] for e in entries if e.get("kind", "").startswith("guarantee_")}
    made: list[Refund] = []
    until: str | None = None
    for e in entries:
        if e.get("kind") == "deposit":
            kind, payer = e["deposit_kind"], e.get("payer")
        elif e.get("kind") == "guarantee" and said.get(e["number"]) == "guarantee_confirmed":
            kind, payer = "guarantee", None
        else:
            continue
        held, status, until, counted = False, "due", due.isoformat(), known
        if closed.get("outcome") == "sold" and e["plate"] in winners:
            if settled is None:
                held, until, counted = True, None, True
            elif settled["kind"] == "defaulted":
                status, until, counted = "forfeited", None, True
            else:
                until, counted = signed.isoformat(), signed_known
        made.append(Refund(
            refund_id=f"{lot_id}-{e['seq']}", plate=e["plate"], amount=e["amount"], kind=kind,
            payer=payer, status=reported.get(e["seq"], status), due=until, calendar_known=counted,
            held=held,
        ))  # fmt: skip
    return made
