"""After the close, money settles (auction/lot/settlement.py decides it): the winner signs
its contract (合同签订: the staff record it, and the winner's deposit is due back, or kept
toward the price by the contract's own terms, outside the platform), or defaults (违约:
two people, the host and the supervisor, record it, and the winner's deposit is forfeited,
RULES §2.5); the bank reports each refund sent, then done."""

from __future__ import annotations

from dataclasses import dataclass

from auction.checks import MAX_ID, check_text
from auction.errors import BadMessage

__all__ = ["STATUSES", "Contract", "Default", "Refunded"]

STATUSES = ("sent", "done")  # what the bank reports of a refund, in that order


def _actor(actor: str | None) -> None:
    if actor is not None:
        check_text("actor", actor, MAX_ID)


@dataclass(frozen=True, slots=True, kw_only=True)
class Contract:
    """The host records the winners' contract signed."""

    actor: str | None = None

    def __post_init__(self) -> None:
        _actor(self.actor)


@dataclass(frozen=True, slots=True, kw_only=True)
class Default:
    """The host or the supervisor records the winner's default; the other confirms it."""

    by: str
    reason: str
    actor: str | None = None

    def __post_init__(self) -> None:
        if self.by not in ("host", "supervisor"):
            raise BadMessage("by", "须为 host 或 supervisor", "must be host or supervisor")
        check_text("reason", self.reason, 500, lines=True)
        _actor(self.actor)


@dataclass(frozen=True, slots=True, kw_only=True)
class Refunded:
    """The bank reports the refund of the deposit (or guarantee) entry `seq` sent or done."""

    seq: int
    status: str
    actor: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.seq, int) or isinstance(self.seq, bool) or not 0 < self.seq < 2**53:
            raise BadMessage("refund_id", "退款编号有误", "is not a refund of this lot")
        if self.status not in STATUSES:
            raise BadMessage("status", "须为 sent 或 done", "must be sent or done")
        _actor(self.actor)
