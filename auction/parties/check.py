"""The credit check (信用核查) as a command of a lot's or an opening's rules.

The server looks the party up on the blacklist on the day (Beijing time) and hands the
rules the fact: `listing`, the entry in force (its source and dates), or None. The rules
log every check in a private `credit_check` entry that names no plate, so only the staff
see it (auction/audience.py); the party is named by its credit code blinded with the
venue's key (auction/lot/blinding.py: no one without the key can test a guess, and the
staff see no name behind a plate before the close, R9).

At registration (`at="register"`) the check stands alone and the server registers only a
party that passed. At qualification (`at="deposit"`, with its `bidder_id`) it goes in
the same atomic call just before the deposit, and a lot's rules mark the bidder listed or
clear: a listed bidder does not qualify, whatever it has paid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auction.checks import MAX_ID, check_text
from auction.errors import BadMessage
from auction.log import EntryLog

__all__ = ["AT", "KIND", "CreditCheck", "log_check"]

KIND = "credit_check"
AT = ("register", "deposit")


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditCheck:
    party: str  # the credit code, blinded
    at: str  # "register" or "deposit"
    bidder_id: str | None = None  # at a deposit: whose
    listing: Mapping[str, Any] | None = None  # {"source", "from", "until"} or None: clear

    def __post_init__(self) -> None:
        check_text("party", self.party, MAX_ID)
        if self.at not in AT:
            raise BadMessage("at", "须为 register 或 deposit", "must be register or deposit")
        if self.bidder_id is not None:
            check_text("bidder_id", self.bidder_id, MAX_ID)
        if self.listing is not None:
            _check_listing(self.listing)

    def fields(self) -> dict[str, Any]:
        """The entry's own fields, as both implementations write them."""
        listing = None if self.listing is None else dict(self.listing)
        result = "passed" if listing is None else "listed"
        return {"party": self.party, "at": self.at, "bidder_id": self.bidder_id,
                "result": result, "listing": listing}  # fmt: skip


def log_check(log: EntryLog, now: int, check: CreditCheck) -> dict[str, Any]:
    """Log `check` (private, no plate: the staff's alone); its answer."""
    seq = log.add(now, KIND, False, **check.fields())
    return {"accepted": True, "seq": seq, "listed": check.listing is not None}


def _check_listing(listing: Mapping[str, Any]) -> None:
    if set(listing) != {"source", "from", "until"}:
        raise BadMessage("listing", "须含 source、from、until", "must hold source, from, until")
    check_text("listing.source", listing["source"], 100)
    for name in ("from", "until"):
        value = listing[name]
        if not (value is None and name == "until") and not (
            isinstance(value, str) and len(value) == 10
        ):
            raise BadMessage(f"listing.{name}", "须为日期", "must be a date")
