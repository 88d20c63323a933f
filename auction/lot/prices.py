"""What a lot's prices may be: the increment grid, the dutch clock, the next minimum, and
whether a sealed price would stand (the server asks before it seals one)."""

from __future__ import annotations

from auction.errors import Refused
from auction.lot.config import LotConfig
from auction.lot.state import LotPhase, LotState

__all__ = ["check_grid", "dutch_end", "dutch_price", "next_min", "sealed_refusal"]


def check_grid(base: int, price: int, increment: int, first: bool) -> None:
    # Under the standing price (or the start) is plainly too low; above it, the grid decides.
    if price < base:
        raise Refused("TOO_LOW")
    if (price - base) % increment:
        raise Refused("OFF_INCREMENT")
    if not first and price == base:
        raise Refused("TOO_LOW")


def dutch_end(s: LotState) -> int:
    c = s.config
    steps = -(-(c.start_price - c.dutch_floor) // c.dutch_step)
    return c.opens_at + (steps + 1) * c.dutch_tick_s * 1000


def dutch_price(c: LotConfig, now: int) -> int:
    """A dutch lot's price at `now`: one step down per tick, never under the floor."""
    ticks = max(0, now - c.opens_at) // (c.dutch_tick_s * 1000)
    return max(c.dutch_floor, c.start_price - ticks * c.dutch_step)


def next_min(c: LotConfig, phase: str, price: int | None, now: int) -> int | None:
    """The lowest price the lot would accept next, or None where no price bid is taken (in
    a lot sold by quantity, from a bidder with no standing bid: a unit price for a share)."""
    if phase == LotPhase.DUTCH:
        return dutch_price(c, now)
    if (
        phase in (LotPhase.SCHEDULED, LotPhase.FREE, LotPhase.INQUIRY, LotPhase.LIMITED)
        and price is not None
        and c.quantity is None
    ):
        return price + c.increment
    if phase in (
        LotPhase.SCHEDULED,
        LotPhase.FREE,
        LotPhase.INQUIRY,
        LotPhase.LIMITED,
        LotPhase.SEALED,
    ):
        return c.start_price
    return None


def sealed_refusal(c: LotConfig, price: int) -> str | None:
    """Why a sealed price would be void at the opening (TOO_LOW, OFF_INCREMENT), or None:
    the server refuses such a bid before sealing it, unlogged (its price is the secret)."""
    try:
        check_grid(c.start_price, price, c.increment, True)
    except Refused as refusal:
        return refusal.code
    return None
