"""What the money routes take and give, as types (server/web/bodies.py adds them to the
description)."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

__all__ = ["ANSWERS", "BODIES", "Arrival", "BankDeposit", "Refunds", "SubAccount"]

Money = Annotated[int, Meta(ge=1, le=2**53 - 1)]
Time = Annotated[int, Meta(ge=0, le=2**53 - 1)]


class BankDeposit(Struct, kw_only=True):
    """An arrival in a bidder's sub-account, as the bank reports it: the amount in fen, the
    bank's `ref` (one transfer, one lot, platform-wide) and the payer's account."""

    account: Annotated[str, Meta(min_length=19, max_length=40)]
    amount: Money
    ref: Annotated[str, Meta(min_length=1, max_length=64)]
    payer_account: Annotated[str, Meta(min_length=6, max_length=60)]


BODIES: tuple[type, ...] = (BankDeposit,)


class SubAccount(Struct, kw_only=True):
    """The bidder's virtual sub-account (19 digits, a Luhn check digit) for the lot."""

    account: str
    server_now: Time


class Arrival(Struct, kw_only=True):
    """The deposit the arrival made: its seq, the bidder's total and whether it qualifies,
    with the lot and the bidder the sub-account is."""

    accepted: bool
    seq: int | None = None
    total: int | None = None
    qualified: bool | None = None
    lot_id: str
    bidder_id: str
    server_now: Time


class Refunds(Struct, kw_only=True):
    """One instruction for each deposit: `refund_id`, `plate`, `name`, `amount` (fen),
    `kind` (cash, or guarantee: released), `to_account`, `status` (due, held), `due`
    (Beijing, YYYY-MM-DD) and whether the holiday calendar knew every day counted."""

    refunds: list[dict[str, Any]]
    server_now: Time


ANSWERS: tuple[type, ...] = (SubAccount, Arrival, Refunds)
