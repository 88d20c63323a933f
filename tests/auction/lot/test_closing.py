"""How a lot closes (auction/lot/closing.py): the opened sealed bids and their `revealed`
entry, and what the `closed` entry says of a secondary round's indicator."""

from __future__ import annotations

from typing import Any

import pytest

from auction.log import Tick
from auction.lot import rules
from auction.lot.state import Accept, Command, PlaceBid
from tests.auction.lot.test_decisions import CAP, SEALED, SECONDARY
from tests.auction.lot.test_rules import MIN, P1, Play, bid, run


def test_a_sealed_bid_at_the_start_price_wins_at_it() -> None:
    state, log = run(Play(SEALED, [bid("A", P1["start_price"], 1000)], "sold"))
    revealed = next(e for e in log if e["kind"] == "revealed")
    assert revealed["rows"] == [["101", P1["start_price"], revealed["rows"][0][2]]]
    assert revealed["void"] == []
    assert (state.outcome, state.winner, state.price) == ("sold", "A", P1["start_price"])


def test_the_void_bids_are_listed_in_the_order_they_were_sealed() -> None:
    """C sealed first, then A (registered before C): the `revealed` entry, which anyone
    checks the opening by, lists them as they came."""
    moves: list[tuple[int, Command, str]] = [
        (1000, PlaceBid(bidder_id="C", bid_id="c", sealed="box-c"), "ok"),
        (2000, PlaceBid(bidder_id="A", bid_id="a", sealed="box-a"), "ok"),
    ]
    state, _ = run(Play(SEALED, moves, ""), close=False)
    seq = {who: state.bidders[who].sealed_seq for who in "AC"}
    opened = rules.step(state, Tick(opened={"C": P1["start_price"] + 1}, key="k1"), 10 * MIN)
    revealed = opened.entries[0]
    assert {k: v for k, v in revealed.items() if k not in ("seq", "pseq")} == {
        "ts": 10 * MIN, "kind": "revealed", "pub": True, "rows": [], "key": "k1",
        "void": [["103", P1["start_price"] + 1, seq["C"]], ["101", None, seq["A"]]],
    }  # fmt: skip
    assert opened.state.outcome == "failed"


@pytest.mark.parametrize(
    ("moves", "indicator", "winner"),
    [
        (
            [
                bid("A", CAP, 1000),
                (2000, Accept(bidder_id="B"), "ok"),
                (3000, PlaceBid(bidder_id="B", bid_id="i", indicator=30), "ok"),
            ],
            30,
            "102",
        ),
        ([bid("A", CAP, 1000)], None, "101"),  # nobody else: no indicator to reveal
    ],
    ids=["an indicator won", "the capper alone"],
)
def test_the_closed_entry_names_the_winning_indicator(
    moves: list[Any], indicator: int | None, winner: str
) -> None:
    log = run(Play(SECONDARY, moves, ""))[1]
    closed = log[-1]
    assert (closed["kind"], closed["outcome"], closed["price"]) == ("closed", "sold", CAP)
    assert (closed["indicator"], closed["winner_plate"]) == (indicator, winner)
