"""What each audience may see of a lot (the snapshot, the result) and of an opening (its
snapshot); which entries each audience sees is auction/audience.py's."""

from __future__ import annotations

from typing import Any

from auction.audience import PRIVATE_FIELDS
from auction.lot import prices
from auction.lot.config import LotConfig
from auction.opening import deposits
from auction.opening.rules import PHASE_ORDER
from auction.opening.state import OpeningState

__all__ = ["opening_snapshot", "result", "snapshot", "standing"]


def snapshot(
    config: LotConfig, state: dict[str, Any], leader_plate: str | None, now: int
) -> dict[str, Any]:
    phase, price = state["phase"], state.get("price")
    clock = now - (state.get("shift") or 0)  # a dutch lot's clock stood still while suspended
    if phase == "dutch":
        price = prices.dutch_price(config, clock)
    return {
        "phase": phase,
        "price": price,
        "leader": leader_plate,
        "next_min": prices.next_min(config, phase, state.get("price"), clock),
        "deadline": state.get("deadline"),
        "seq": state["pseq"],
        "has_reserve": config.reserve is not None,
        "title": config.title,
        "mode": config.mode,
        "quote_unit": config.quote_unit,
        "increment": config.increment,
        "indicator": state.get("indicator") if phase == "capped" else None,
        # a cap lottery's pool is fixed and waits for the supervisor's draw (R8)
        "awaiting_draw": phase == "capped"
        and config.after_cap == "lottery"
        and state.get("deadline") is None,
        "category": config.category,
        "opens_at": config.opens_at,
        "free_ends_at": config.free_ends_at,
        "deposit": config.deposit,
        "terms": terms(config, state),
        "server_now": now,
    }


def terms(config: LotConfig, state: dict[str, Any]) -> dict[str, Any]:
    """What a bidder needs before bidding (the public config, the reserve only as whether
    there is one), with the registration and deposit deadlines as suspensions moved them."""
    shown = config.public() | {"has_reserve": config.reserve is not None}
    return shown | {"apply_ends_at": state["apply_by"], "deposit_ends_at": state["deposit_by"]}


def standing(bidder: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Where a bidder stands on a lot, for itself: its private entries' sum; in a lot sold
    by quantity, its standing bid (the unit price and quantity a newer bid replaces)."""
    own = bidder.get("standing")
    return {
        "plate": bidder["plate"], "deposit": bidder.get("deposit", 0),
        "qualified": bool(bidder.get("qualified")), "continued": bool(bidder.get("continued")),
        "accepted": bidder["bidder_id"] in (state.get("acceptors") or []),
        "sealed": bidder.get("sealed_box") is not None,
        "standing": {"price": own[0], "quantity": own[1]} if own else None,
    }  # fmt: skip


def result(
    closed: dict[str, Any], bidders: dict[str, dict[str, Any]], deposit: int, admin: bool
) -> dict[str, Any]:
    """The result after the close; the admin also sees each bidder's refund (a winner's
    deposit is kept as earnest money, 定金, toward the price). A lot sold by quantity lists
    its winners in `allocated`: plate, name, unit price, quantity and amount each."""
    by_plate = {b["plate"]: b for b in bidders.values()}
    winner = by_plate.get(closed["winner_plate"])
    shown = {k: v for k, v in closed.items() if k not in PRIVATE_FIELDS}
    shown["winner_name"] = winner["name"] if winner else None
    won = {closed["winner_plate"]}
    if "allocated" in closed:
        shown["allocated"] = [
            {"plate": plate, "name": by_plate[plate]["name"], "price": price,
             "quantity": quantity, "amount": price * quantity}
            for plate, price, quantity in closed["allocated"]
        ]  # fmt: skip
        won = {plate for plate, _, _ in closed["allocated"]}
    if admin:
        shown["refunds"] = [
            {
                "bidder_id": b["bidder_id"],
                "plate": b["plate"],
                "name": b["name"],
                "paid": b["deposit"],
                "retained": b["deposit"] if b["plate"] in won else 0,
                "refund": 0 if b["plate"] in won else b["deposit"],
            }
            for b in sorted(bidders.values(), key=lambda b: b["plate"])
        ]
    shown["lot_deposit"] = deposit
    return shown


def opening_snapshot(
    state: OpeningState, now: int, bidder_id: str | None, live: bool = False
) -> dict[str, Any]:
    """What anyone may see of an opening now; names only once published. `live`: whether
    the host's livestream is on (the page asks for the video only then)."""
    c = state.config
    published = state.phase not in ("scheduled", "sign_in", "aborted")
    shown: dict[str, Any] = {
        "phase": state.phase, "deadline": state.deadline, "seq": state.pseq,
        "title": c.title, "bid_deadline": c.bid_deadline,
        "decrypt_window_s": c.decrypt_window_s, "min_bidders": c.min_bidders,
        "paused": state.paused_left is not None, "window_closed": state.window_closed,
        "session": state.session, "record_hash": state.record_hash, "server_now": now,
        "phase_order": PHASE_ORDER,  # the host's page advances along it
        "signatures": c.signatures,  # whether its bidders' commands must be signed
        "live": live,
    }  # fmt: skip
    if state.phase != "scheduled":
        shown["envelopes"] = sum(t.envelope is not None for t in state.tenderers.values())
        shown["signed_in"] = sum(t.signed_in is not None for t in state.tenderers.values())
    if published:
        shown["bidders"] = [
            {"plate": t.plate, "name": t.name, "status": t.status, "side": t.side}
            for t in sorted(state.tenderers.values(), key=lambda t: t.plate)
            if t.valid
        ]
    mine = state.tenderers.get(bidder_id or "")
    if mine is not None:
        shown["me"] = {
            "plate": mine.plate, "envelope": mine.envelope, "signed_in": mine.signed_in,
            "status": mine.status, "side": mine.side, "confirmed": mine.confirmed,
        } | deposits.shown(state, mine)  # fmt: skip
    return shown
