"""The day's reconciliation (对账) of a lot's deposits against its bidders, read from its log
alone: what arrived that day (Beijing), what each bidder has paid in all against the lot's
deposit, its guarantees in force, whether it qualifies, and the refunds the bank reported
that day or owes past their due day. The bank sets it beside its own statement of the
sub-accounts; any line that differs is a question for one of them.

A bidder is `short` while neither its cash nor a guarantee covers the deposit, `over` when
its cash exceeds it (the excess goes back with its refund)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from auction.china import date_of
from auction.log import Entry
from auction.money.refunds import refunds

__all__ = ["Line", "reconcile"]


@dataclass(slots=True, kw_only=True)
class Line:
    plate: str
    arrived: int = 0  # the day's arrivals, in fen
    arrivals: int = 0  # and how many
    paid: int = 0  # all its cash deposits so far
    guaranteed: int = 0  # its guarantees confirmed and not revoked
    qualified: bool = False
    refunded: list[str] = field(default_factory=list)  # the day's reported refunds: "id status"
    overdue: list[str] = field(default_factory=list)  # refunds past their due day, not done
    short: bool = False
    over: bool = False


def reconcile(lot_id: str, entries: Sequence[Entry], deposit: int, day: dt.date) -> list[Line]:
    """A line for each bidder of the lot, by plate, as its log stood at the end of `day`."""
    until = [e for e in entries if date_of(e["ts"]) <= day]
    lines: dict[str, Line] = {}
    filed: dict[str, Entry] = {}
    standing: dict[str, tuple[str, int]] = {}  # guarantees confirmed, not revoked: whose, how much
    for e in until:
        kind = e.get("kind")
        if kind == "registered":
            lines[e["plate"]] = Line(plate=e["plate"], qualified=deposit == 0)
        elif kind == "deposit":
            line = lines[e["plate"]]
            line.paid, line.qualified = e["total"], e["qualified"]
            if date_of(e["ts"]) == day:
                line.arrived, line.arrivals = line.arrived + e["amount"], line.arrivals + 1
        elif kind == "guarantee":
            filed[e["number"]] = e
        elif kind in ("guarantee_confirmed", "guarantee_revoked"):
            lines[e["plate"]].qualified = e["qualified"]
            if kind == "guarantee_confirmed":
                standing[e["number"]] = (e["plate"], filed[e["number"]]["amount"])
            else:
                standing.pop(e["number"], None)
        elif kind == "refund" and date_of(e["ts"]) == day:
            lines[e["plate"]].refunded.append(f"{lot_id}-{e['refund']} {e['status']}")
    for refund in refunds(lot_id, until):
        late = refund.due is not None and dt.date.fromisoformat(refund.due) < day
        if late and refund.status in ("due", "sent"):
            lines[refund.plate].overdue.append(refund.refund_id)
    for plate, amount in standing.values():
        lines[plate].guaranteed += amount
    for line in lines.values():
        line.short = line.paid < deposit and line.guaranteed < deposit
        line.over = line.paid > deposit
    return sorted(lines.values(), key=lambda line: line.plate)
