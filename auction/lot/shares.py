"""A lot sold by quantity (排污权网上竞价): several winners share its quantity.

A bid names a unit price and a quantity: at least `min_quantity`, above it by whole
`quantity_step`s, at most the lot's whole quantity. A bidder's newer bid replaces its
standing one (以最后一次有效报价为准) and must name a higher unit price, on the increment
grid from the start price; its time is the newer bid's. In 限时 every accepted bid restarts
the countdown, as in any auction.

At the close the standing bids are ranked by unit price, highest first, the earlier of
equal prices first; a bid under the reserve wins nothing. Each in turn gets what it asked,
or what is left, until the quantity is gone: the last winner may get a part. The `closed`
entry lists the winners as `allocated` rows [plate, unit price, quantity], in that order;
its `price` and `winner_plate` are the first row's.

lot.lua makes the same decisions (its `bid_share` and `allocate`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auction.errors import Refused
from auction.log import EntryLog
from auction.lot.admission import with_bidder
from auction.lot.prices import check_grid
from auction.lot.state import Bidder, LotPhase, LotState

__all__ = ["allocation", "bid_share"]


def bid_share(
    s: LotState, bidder: Bidder, bid_id: str, price: int, quantity: int | None, now: int,
    log: EntryLog,
) -> tuple[LotState, dict[str, Any]]:  # fmt: skip
    c = s.config
    if (
        c.quantity is None
        or quantity is None
        or not c.least_quantity <= quantity <= c.quantity
        or (quantity - c.least_quantity) % c.step_quantity
    ):
        raise Refused("BAD_QUANTITY")
    own = bidder.standing
    check_grid(c.start_price if own is None else own[0], price, c.increment, own is None)
    deadline = now + c.countdown_s * 1000 if s.phase == LotPhase.LIMITED else s.deadline
    seq = log.add(
        now, "bid", True, plate=bidder.plate, bid_id=bid_id, price=price, quantity=quantity,
        phase=s.phase, deadline=deadline,
    )  # fmt: skip
    s = with_bidder(s, bidder, standing=(price, quantity, seq))
    if s.price is None or price > s.price:  # the highest unit price, its earliest bidder
        s = replace(s, price=price, leader=bidder.bidder_id)
    s = replace(s, deadline=deadline)
    answer = {"accepted": True, "seq": seq, "price": price, "quantity": quantity,
              "deadline": deadline}  # fmt: skip
    return s, answer


def allocation(s: LotState) -> list[tuple[Bidder, int, int]]:
    """The winners in rank order, each with its unit price and the quantity it gets."""
    c = s.config
    assert c.quantity is not None
    left, won = c.quantity, []
    ranked = sorted(
        (b for b in s.bidders.values() if b.standing is not None),
        key=lambda b: (-b.standing[0], b.standing[2]) if b.standing else (0, 0),
    )
    for b in ranked:
        assert b.standing is not None
        price, asked, _ = b.standing
        if left == 0 or (c.reserve is not None and price < c.reserve):
            break
        won.append((b, price, min(asked, left)))
        left -= won[-1][2]
    return won
