"""How a lot closes: on its highest bid, on its opened sealed bids, by the cap's lottery,
or terminated by staff; the `closed` entry reveals what was committed to at creation."""

from __future__ import annotations

from dataclasses import replace

from auction.commit import lottery_index
from auction.state import EntryLog, LotState, Terminate, Tick

__all__ = ["close", "draw", "settle", "settle_sealed"]


def settle(s: LotState, due: int, log: EntryLog) -> LotState:
    """Close on the highest bid: sold unless there is none or it is under the reserve."""
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


def draw(s: LotState, due: int, log: EntryLog) -> LotState:
    pool = list(s.acceptors)
    winner = pool[lottery_index(s.secrets.lottery_seed, len(pool))]
    plates = [s.bidders[b].plate for b in pool]
    return close(s, due, log, winner, lottery_plates=plates if len(pool) > 1 else None)


def close(
    s: LotState,
    due: int,
    log: EntryLog,
    winner: str | None,
    lottery_plates: list[str] | None = None,
    terminated: Terminate | None = None,
) -> LotState:
    c, sold = s.config, winner is not None
    outcome = "terminated" if terminated else "sold" if sold else "failed"
    ended = {"by": terminated.by, "reason": terminated.reason} if terminated else {}
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
    )  # fmt: skip
    return replace(s, phase="closed", deadline=None, outcome=outcome, winner=winner, held=None)
