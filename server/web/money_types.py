"""What the money routes take and give, as types (server/web/bodies.py adds them to the
description)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

__all__ = ["ANSWERS", "BODIES", "Arrival", "BankDeposit", "Decided", "IssuerSays",
           "NewGuarantee", "Reconciliation", "RefundReport", "Refunds", "SubAccount",
           "TenderDeposited"]  # fmt: skip

Money = Annotated[int, Meta(ge=1, le=2**53 - 1)]
Time = Annotated[int, Meta(ge=0, le=2**53 - 1)]


class BankDeposit(Struct, kw_only=True):
    """An arrival in a bidder's sub-account, as the bank reports it: the amount in fen, the
    bank's `ref` (one transfer, one lot, platform-wide) and the payer's account."""

    account: Annotated[str, Meta(min_length=19, max_length=40)]
    amount: Money
    ref: Annotated[str, Meta(min_length=1, max_length=64)]
    payer_account: Annotated[str, Meta(min_length=6, max_length=60)]


class NewGuarantee(Struct, kw_only=True):
    """电子保函: its issuer, number, amount in fen (at least the deposit) and the last day it
    is valid (Beijing; at least 30 days past the lot's free bidding)."""

    kind: Literal["guarantee"] = "guarantee"
    issuer: Annotated[str, Meta(min_length=1, max_length=100)]
    number: Annotated[str, Meta(min_length=1, max_length=64)]
    amount: Money
    valid_until: Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class IssuerSays(Struct, kw_only=True):
    """The issuer's confirmation or revocation; the body is signed (it may be empty)."""

    note: Annotated[str, Meta(max_length=200)] | None = None


class RefundReport(Struct, kw_only=True):
    """The bank's word on a refund: sent, then done."""

    status: Literal["sent", "done"]


BODIES: tuple[type, ...] = (BankDeposit, NewGuarantee, IssuerSays, RefundReport)


class SubAccount(Struct, kw_only=True):
    """The bidder's virtual sub-account (19 digits, a Luhn check digit) for the lot."""

    account: str
    server_now: Time


class Arrival(Struct, kw_only=True):
    """The deposit the arrival made: its seq, the bidder's total and whether it qualifies
    (a lot's), or its status (`paid` in full, else `none`: an opening's), with the lot or
    the opening and the bidder the sub-account is."""

    accepted: bool
    seq: int | None = None
    total: int | None = None
    qualified: bool | None = None
    status: str | None = None
    lot_id: str | None = None
    opening_id: str | None = None
    bidder_id: str
    server_now: Time


class Decided(Struct, kw_only=True):
    """A guarantee filed, confirmed or revoked: its entry's seq, and whether its bidder
    qualifies now (with the lot and the bidder, for the issuer)."""

    accepted: bool
    seq: int | None = None
    qualified: bool | None = None
    lot_id: str | None = None
    bidder_id: str | None = None
    server_now: Time


class Refunds(Struct, kw_only=True):
    """One instruction for each deposit: `refund_id`, `plate`, `name`, `amount` (fen),
    `kind` (cash, or guarantee: released), `to_account`, `status` (due, sent, done,
    forfeited), `due` (Beijing, YYYY-MM-DD), whether the holiday calendar knew every day
    counted, and `held`: a winner's, due with no date until the contract."""

    refunds: list[dict[str, Any]]
    server_now: Time


class TenderDeposited(Struct, kw_only=True):
    """An opening's deposit decided: its seq, the tenderer's cash in all and its status
    (paid, guarantee, none)."""

    accepted: bool
    seq: int | None = None
    total: int | None = None
    status: str | None = None
    server_now: Time


class Reconciliation(Struct, kw_only=True):
    """The day's 对账: each lot whose money moved that day, with a line for each bidder
    (plate, the day's arrivals and their count, paid in all, guaranteed, qualified, the
    day's reported refunds, the overdue ones, short, over)."""

    day: str
    lots: list[dict[str, Any]]
    server_now: Time


ANSWERS: tuple[type, ...] = (SubAccount, Arrival, Decided, Refunds, Reconciliation,
                             TenderDeposited)  # fmt: skip
