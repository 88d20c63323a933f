"""电子保函: a bank's guarantee in place of a cash deposit, as commands of a lot's rules.

A bidder (or the staff for it) files a guarantee: its issuer, its number (blinded with the
lot's key before it reaches the rules, as refs are), the amount and the last day it is
valid. It must cover the whole deposit and stay valid at least `MARGIN_DAYS` after the day
the lot's free bidding ends (Beijing), else `GUARANTEE_SHORT` or `GUARANTEE_EXPIRES`. It
counts only once its issuer confirms it, before the deposit deadline; the issuer may revoke
it until the close, and the bidder is qualified again only by what else it has paid. Every
step is an entry of the lot's log (private: the staff's and the bidder's), in the rules and
in lot.lua alike (auction/lot/guarantees.py decides them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from auction.checks import MAX_ID, check_text
from auction.errors import BadMessage

__all__ = ["MARGIN_DAYS", "ConfirmGuarantee", "FileGuarantee", "Filed", "RevokeGuarantee",
           "day_number"]  # fmt: skip

MARGIN_DAYS = 30  # a guarantee stays valid this long after the lot's free bidding ends
EPOCH = dt.date(1970, 1, 1)


def day_number(day: str) -> int:
    """A day (YYYY-MM-DD) as days since 1970-01-01, as lot.lua counts them."""
    return (dt.date.fromisoformat(day) - EPOCH).days


def _check_day(name: str, value: object) -> str:
    try:
        if isinstance(value, str) and len(value) == 10 and dt.date.fromisoformat(value):
            return value
    except ValueError:
        pass
    raise BadMessage(name, "须为日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)")


def _check_id(name: str, value: object) -> None:
    check_text(name, value, MAX_ID)


@dataclass(frozen=True, slots=True, kw_only=True)
class Filed:
    """A guarantee as the lot keeps it: whose, for how much, until when, and where it is
    ("filed", "confirmed" or "revoked")."""

    bidder_id: str
    amount: int
    valid_until: str
    seq: int  # its `guarantee` entry's: the refund that releases it is named by it
    status: str = "filed"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileGuarantee:
    bidder_id: str
    number: str  # blinded
    issuer: str
    amount: int
    valid_until: str
    actor: str | None = None  # the staff member who filed it for the bidder

    def __post_init__(self) -> None:
        _check_id("bidder_id", self.bidder_id)
        _check_id("number", self.number)
        check_text("issuer", self.issuer, 100)
        if (
            not isinstance(self.amount, int)
            or isinstance(self.amount, bool)
            or not (0 < self.amount < 2**53)
        ):
            raise BadMessage("amount", "须为正整数", "must be a positive integer")
        _check_day("valid_until", self.valid_until)
        if self.actor is not None:
            _check_id("actor", self.actor)


@dataclass(frozen=True, slots=True, kw_only=True)
class _IssuerSays:
    """What the issuer says of the guarantee `number` (blinded) it issued."""

    number: str
    actor: str | None = None

    def __post_init__(self) -> None:
        _check_id("number", self.number)
        if self.actor is not None:
            _check_id("actor", self.actor)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmGuarantee(_IssuerSays):
    """The issuer confirms it: it counts, if filed in time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeGuarantee(_IssuerSays):
    """The issuer revokes it before the close."""
