"""A lot sold by quantity (auction/lot/shares.py): bids of a unit price and a quantity, a
newer bid replacing the standing one, and the quantity shared at the close by price, then
time, the last winner taking what is left. Every lot here replays to the same state."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from auction.errors import BadMessage
from auction.log import Tick
from auction.lot.config import LotConfig
from auction.lot.replay import replay
from auction.lot.state import LotPhase, PlaceBid, Terminate
from tests.auction.lot.test_replay import MIN, Lot

YUAN = 100
EMISSION: dict[str, Any] = dict(
    title="化学需氧量排污权 2026-07", category="emission", mode="auction", quote_unit="元/吨",
    start_price=2_000 * YUAN, increment=100 * YUAN, deposit=50_000 * YUAN,
    quantity=100, quantity_unit="吨", min_quantity=10, quantity_step=5,
    opens_at=0, free_ends_at=60 * MIN, countdown_s=300,
)  # fmt: skip
ENDS = 60 * MIN + 300_000  # the 限时 countdown run out with no bid in it


def ask(who: str, price_yuan: int, quantity: int | None, bid_id: str = "") -> PlaceBid:
    return PlaceBid(bidder_id=who, bid_id=bid_id or f"{who}{price_yuan}", price=price_yuan * YUAN,
                    quantity=quantity)  # fmt: skip


def emission(bidders: str = "ABCD", **changes: Any) -> Lot:
    lot = Lot.new(EMISSION | changes)
    lot.enrol(bidders, EMISSION["deposit"])
    return lot


def replays(lot: Lot) -> bool:
    """The log replays to the lot's state (a salt never used is never revealed)."""
    return replace(replay(lot.log, "lot-7"), secrets=lot.state.secrets) == lot.state


def closed(lot: Lot) -> dict[str, Any]:
    return next(e for e in lot.log if e["kind"] == "closed")


def test_three_winners_share_the_quantity_by_price_then_time() -> None:
    lot = emission()
    for command, at in [
        (ask("A", 2_000, 30), 1_000),
        (ask("B", 2_100, 50), 2_000),
        (ask("C", 2_100, 40), 3_000),  # B's price, later: after B
        (ask("D", 2_000, 40), 4_000),
        (ask("A", 2_200, 20), 5_000),  # replaces A's standing bid, at the newer time
    ]:
        assert lot.do(command, at)["accepted"], command
    lot.do(Tick(), 60 * MIN)
    lot.do(Tick(), ENDS)
    end = closed(lot)
    # A 20 at 2,200; B 50 at 2,100; C asked 40 and gets the 30 left; D nothing
    assert end["allocated"] == [["101", 220_000, 20], ["102", 210_000, 50], ["103", 210_000, 30]]
    assert (end["outcome"], end["winner_plate"], end["price"]) == ("sold", "101", 220_000)
    assert replays(lot)


def test_a_bid_names_its_quantity_on_the_lots_steps() -> None:
    lot = emission()
    for quantity in (None, 5, 12, 105):  # none, under the least, off the step, over the whole
        assert lot.do(ask("A", 2_000, quantity, f"q{quantity}"), 1_000)["code"] == "BAD_QUANTITY"
    for quantity in (10, 15, 100):  # quantities that hold, prices off the grid
        assert lot.do(ask("B", 2_001 + quantity, quantity), 1_000)["code"] == "OFF_INCREMENT"
    assert lot.do(ask("B", 2_000, 100), 1_000)["accepted"]
    refused = [e for e in lot.log if e["kind"] == "refused"]
    assert [e.get("quantity") for e in refused] == [None, 5, 12, 105, 10, 15, 100]
    assert replays(lot)


def test_a_newer_bid_must_raise_its_own_price_not_the_others() -> None:
    lot = emission()
    assert lot.do(ask("A", 2_300, 10), 1_000)["accepted"]
    assert lot.do(ask("B", 2_000, 10), 2_000)["accepted"]  # under A's: still a bid for a share
    assert lot.do(ask("B", 2_000, 20, "again"), 3_000)["code"] == "TOO_LOW"
    assert lot.do(ask("B", 2_100, 20), 4_000)["accepted"]
    assert (lot.state.price, lot.state.leader) == (230_000, "A")  # the highest unit price


def test_a_price_bid_on_a_lot_not_sold_by_quantity_names_none() -> None:
    lot = Lot.new(EMISSION | {"quantity": None, "quantity_unit": None, "min_quantity": None,
                              "quantity_step": None})  # fmt: skip
    lot.enrol("A", EMISSION["deposit"])
    assert lot.do(ask("A", 2_000, 10), 1_000)["code"] == "BAD_QUANTITY"
    assert lot.do(ask("A", 2_000, None, "no quantity"), 1_000)["accepted"]


def test_bids_under_the_reserve_win_nothing() -> None:
    lot = emission(reserve=2_100 * YUAN)
    lot.do(ask("A", 2_000, 60), 1_000)
    lot.do(ask("B", 2_100, 30), 2_000)
    lot.do(Tick(), 60 * MIN)
    lot.do(Tick(), ENDS)
    assert closed(lot)["allocated"] == [["102", 210_000, 30]]  # 70 unsold
    assert replays(lot)


def test_all_under_the_reserve_fails_and_a_termination_allocates_nothing() -> None:
    lot = emission(reserve=3_000 * YUAN)
    lot.do(ask("A", 2_000, 60), 1_000)
    lot.do(Tick(), 60 * MIN)
    lot.do(Tick(), ENDS)
    assert (closed(lot)["outcome"], closed(lot)["allocated"]) == ("failed", [])
    ended = emission()
    ended.do(ask("A", 2_000, 60), 1_000)
    for by in ("host", "supervisor"):
        ended.do(Terminate(by=by, reason="排污单位申请撤回"), 2_000)
    assert (closed(ended)["outcome"], closed(ended)["allocated"]) == ("terminated", [])
    assert replays(ended)


def test_every_bid_in_the_countdown_restarts_it() -> None:
    lot = emission()
    lot.do(Tick(), 60 * MIN)
    assert lot.state.phase == LotPhase.LIMITED
    answer = lot.do(ask("A", 2_000, 10), 60 * MIN + 100_000)
    assert answer["deadline"] == 60 * MIN + 100_000 + 300_000 == lot.state.deadline
    assert answer["quantity"] == 10


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "land"}, "quantity"),
        ({"mode": "listing", "inquiry_s": 60}, "quantity"),
        ({"quantity_unit": None}, "quantity_unit"),
        ({"min_quantity": 101}, "min_quantity"),
        ({"quantity_step": 0}, "quantity_step"),
        ({"cap": 9_000 * YUAN}, "cap"),
        ({"quantity": None}, "quantity_unit"),  # the unit and steps without a quantity
    ],
)
def test_quantity_terms_that_do_not_hold_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(BadMessage) as refused:
        LotConfig.parse(EMISSION | changes)
    assert refused.value.field == field
