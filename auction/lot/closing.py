"""How a lot closes: on its highest bid, on its opened sealed bids, by the cap's lottery,
or terminated by staff; the `closed` entry reveals what was committed to at creation.

The cap's lottery (摇号) has two steps. When the acceptance window closes, one acceptor (the
capper) wins at the cap; two or more are the pool, logged in a `pool` entry, and the lot
waits with no deadline until the supervisor's `Draw` brings the share that, with the
committed seed, decides (review R8: nobody knows the draw before the pool is fixed)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auction.errors import Refused
from auction.log import EntryLog, Tick
from auction.lot.commit import lottery_index
from auction.lot.shares import allocation
from auction.lot.state import Draw, LotPhase, LotState, Terminate

__all__ = ["close", "draw", "fix_pool", "settle", "settle_sealed"]


def settle(s: LotState, due: int, log: EntryLog) -> LotState:
    """Close on the highest bid: sold unless there is none or it is under the reserve. A lot
    sold by quantity is shared among its highest bids (auction/lot/shares.py)."""
    if s.config.quantity is not None:
        won = allocation(s)
        rows = [[b.plate, price, quantity] for b, price, quantity in won]
        return close(s, due, log, won[0][0].bidder_id if won else None, allocated=rows)
    reserve = s.config.reserve
    if s.leader is None or (reserve is not None and s.price is not None and s.price < reserve):
        return close(s, due, log, None)
    winner = s.indicator_leader or s.leader
    return close(s, due, log, winner)


def settle_sealed(s: LotState, due: int, log: EntryLog, reveal: Tick) -> LotState:
    """Open the sealed bids: the highest on the grid wins, the earlier of equal ones; a bid
    that did not open, or holds a price off the grid, is void. The `revealed` entry lists
    both and the key, so anyone can open every sealed bid of the log again."""
    opened, c = reveal.opened or {}, s.config
    boxes = sorted((b for b in s.bidders.values() if b.sealed_box), key=lambda b: b.sealed_seq or 0)
    valid, void = [], []
    for b in boxes:
        price = opened.get(b.bidder_id)
        fits = price is not None and price >= c.start_price
        if fits and price is not None and (price - c.start_price) % c.increment == 0:
            valid.append((price, b))
        else:
            void.append([b.plate, price, b.sealed_seq])
    valid.sort(key=lambda pb: (-pb[0], pb[1].sealed_seq or 0))
    rows = [[b.plate, price, b.sealed_seq] for price, b in valid]
    log.add(due, "revealed", True, rows=rows, void=void, key=reveal.key)
    if valid:
        s = replace(s, leader=valid[0][1].bidder_id, price=valid[0][0])
    return settle(s, due, log)


def fix_pool(s: LotState, due: int, log: EntryLog) -> LotState:
    """The acceptance window closed: a lone acceptor (the capper, who is always one) wins
    at the cap; a pool waits for the supervisor's draw."""
    if len(s.acceptors) < 2:
        return close(s, due, log, s.acceptors[0])
    log.add(due, "pool", True, plates=[s.bidders[b].plate for b in s.acceptors])
    return replace(s, deadline=None)


def draw(s: LotState, cmd: Draw, now: int, log: EntryLog) -> tuple[LotState, dict[str, Any]]:
    """The supervisor's draw: the pool's winner by `lottery_index`."""
    if s.phase == LotPhase.SUSPENDED:
        raise Refused("SUSPENDED")
    if not s.awaiting_draw:
        raise Refused("PHASE_CLOSED")  # no pool, or not yet: the window is still open
    plates = [s.bidders[b].plate for b in s.acceptors]
    winner = s.acceptors[lottery_index(s.secrets.lottery_seed, cmd.share, plates)]
    s = close(s, now, log, winner, lottery_plates=plates, lottery_share=cmd.share,
              actor=cmd.actor)  # fmt: skip
    return s, {"accepted": True, "seq": log.seq, "winner_plate": s.bidders[winner].plate}


def close(
    s: LotState,
    due: int,
    log: EntryLog,
    winner: str | None,
    lottery_plates: list[str] | None = None,
    terminated: Terminate | None = None,
    lottery_share: str | None = None,
    actor: str | None = None,
    allocated: list[list[Any]] | None = None,
) -> LotState:
    c, sold = s.config, winner is not None
    outcome = "terminated" if terminated else "sold" if sold else "failed"
    ended: dict[str, Any] = {"by": terminated.by, "reason": terminated.reason} if terminated else {}
    if c.quantity is not None:  # who gets how much: nobody in a lot failed or terminated
        ended["allocated"] = allocated or []
    log.add(
        due, "closed", True, **ended,
        outcome=outcome,
        price=s.price if sold else None,
        winner_plate=s.bidders[winner].plate if winner else None,
        indicator=s.indicator if s.indicator_leader else None,
        reserve=c.reserve,
        reserve_salt=s.secrets.reserve_salt if c.reserve is not None else None,
        lottery_seed=s.secrets.lottery_seed,
        lottery_plates=lottery_plates,
        lottery_share=lottery_share,
        actor=terminated.actor if terminated else actor,
    )  # fmt: skip
    winners: tuple[str, ...] = ()  # whose deposits are held toward the price
    if winner is not None:
        winners = tuple(s.plates[row[0]] for row in allocated) if allocated else (winner,)
    return replace(
        s, phase=LotPhase.CLOSED, deadline=None, outcome=outcome, winner=winner, held=None,
        winners=winners,
    )  # fmt: skip
