"""The reference rules on the real fixtures of RULES.md §4, as tables of moves.

A play is a config plus moves `(at_ms, command, expected)`, where `expected` is "ok" or a
refusal code; after the moves, the lot is ticked at each of its deadlines until it closes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any, cast

import pytest

from auction.errors import BadMessage
from auction.log import Tick
from auction.lot import prices, rules
from auction.lot.commit import lottery_index, reserve_commitment
from auction.lot.config import LotConfig
from auction.lot.state import (
    Accept,
    Command,
    Continue,
    Deposit,
    Draw,
    LotState,
    PlaceBid,
    Register,
    Resume,
    Secrets,
    Suspend,
    Terminate,
)

WAN = 1_000_000  # 1 万元 in fen
MIN = 60_000
SECRETS = Secrets(reserve_salt="00" * 16, lottery_seed="a1b2c3d4e5f6" + "00" * 10)

# Fixture L1: Baoshan auction, 34.38万元 start, 0.5万元 increment, 10万元 deposit.
L1: dict[str, Any] = dict(
    title="GB00047", category="land", mode="auction", quote_unit="元",
    start_price=int(34.38 * WAN), increment=WAN // 2, deposit=10 * WAN,
    opens_at=0, free_ends_at=60 * MIN, countdown_s=300,
)  # fmt: skip
# Fixture L2: Jiangsu industrial listing per 亩: 14.0万元/亩 start, 0.2万元/亩 steps, 240 s.
L2: dict[str, Any] = dict(
    title="2025B2", category="land", mode="listing", quote_unit="万元/亩",
    start_price=14 * WAN, increment=WAN // 5, deposit=60 * WAN,
    opens_at=0, free_ends_at=100 * MIN, inquiry_s=180, countdown_s=240,
)  # fmt: skip
# The supervisor's share of a lottery's draw (R8)
SHARE = "5e" * 32
# Fixture P1: Zhongshan LED lease, 26180.00 元/月 start, 100 元 steps, no reserve.
P1: dict[str, Any] = dict(
    title="LED lease", category="property", mode="auction", quote_unit="元/月",
    start_price=2_618_000, increment=10_000, deposit=7_500_000,
    opens_at=0, free_ends_at=30 * MIN, countdown_s=300,
)  # fmt: skip


@dataclass
class Play:
    config: dict[str, Any]
    moves: list[tuple[int, Command, str]]
    outcome: str
    price: int | None = None
    winner: str | None = None
    bidders: tuple[str, ...] = ("A", "B", "C")
    closed_at: int | None = None  # when the lot must close, where the play pins it
    secrets: Secrets = SECRETS


def bid(who: str, price: int, at: int, expect: str = "ok", bid_id: str | None = None) -> Any:
    return (at, PlaceBid(bidder_id=who, bid_id=bid_id or f"{who}{at}{price}", price=price), expect)


def run(play: Play, close: bool = True) -> tuple[LotState, list[dict[str, Any]]]:
    """Play the moves; a sealed lot's price bids go as the server sends them (refused off
    the grid unlogged, else sealed) and its close opens them."""
    config = LotConfig.parse(play.config)
    state = rules.create(config, play.secrets, 0).state
    log: list[dict[str, Any]] = []
    deposit = play.config.get("deposit", 0)
    for i, who in enumerate(play.bidders):
        state = rules.step(state, Register(bidder_id=who, plate=f"{101 + i}", name=who), 0).state
        if deposit:
            dep = Deposit(bidder_id=who, amount=deposit, kind="cash", ref=f"r{who}")
            state = rules.step(state, dep, 0).state
    opened: dict[str, int] = {}

    def on_time(state: LotState, log: list[dict[str, Any]], until: int) -> Any:
        """The timer of a healthy platform: each deadline up to `until` passed at its time."""
        while state.deadline is not None and state.deadline <= until:
            ticked = rules.step(state, Tick(opened=opened, key="00"), state.deadline)
            state, log = ticked.state, log + ticked.entries
        return state, log

    for at, command, expected in play.moves:
        state, log = on_time(state, log, at)
        sealed = config.mode == "sealed" and isinstance(command, PlaceBid) and command.price
        if sealed and (
            refused := prices.sealed_refusal(config, cast(PlaceBid, command).price or 0)
        ):
            assert refused == expected, f"{command} at {at}: {refused}"
            continue
        if sealed and isinstance(command, PlaceBid):
            command = replace(command, price=None, sealed=f"box:{command.price}")
        result = rules.step(state, command, at)
        got = "ok" if result.answer.get("accepted") else result.answer.get("code")
        assert got == expected, f"{command} at {at}: {result.answer}"
        if sealed and got == "ok" and isinstance(command, PlaceBid):
            opened[command.bidder_id] = int(str(command.sealed).removeprefix("box:"))
        state, log = result.state, log + result.entries
    return on_time(state, log, 10**12) if close else (state, log)


def price_of(wan: float) -> int:
    return round(wan * WAN)


def drawn(plates: list[str], seed: str = SECRETS.lottery_seed, share: str = SHARE) -> int:
    """The pool's position that the draw picks; the rule itself is tested by its published
    formula in test_the_draw_is_the_published_formula."""
    return lottery_index(seed, share, plates)


def share_picking(index: int, plates: list[str]) -> str:
    """A share whose draw picks `index` of the pool: a supervisor's share is random, but a
    play that must see, say, not the capper win needs one that does."""
    return next(f"{n:064x}" for n in range(1000) if drawn(plates, share=f"{n:064x}") == index)


def draw(at: int, expect: str = "ok", share: str = SHARE) -> Any:
    return (at, Draw(by="supervisor", share=share), expect)


PLAYS = {
    # RULES L1 checks: 34.38 accepted; 34.88 next; 35.00 off grid; 34.38 again not greater.
    "L1 grid": Play(
        L1,
        [
            bid("A", price_of(34.38), 1000),
            bid("B", price_of(34.88), 2000),
            bid("C", price_of(35.00), 3000, "OFF_INCREMENT"),
            bid("C", price_of(34.38), 4000, "TOO_LOW"),
            bid("C", price_of(34.88), 5000, "TOO_LOW"),
        ],
        "sold",
        price_of(34.88),
        "B",
    ),
    "L1 first bid below start": Play(L1, [bid("A", price_of(34.0), 1000, "TOO_LOW")], "failed"),
    "L1 reserve above highest fails": Play(
        L1 | {"reserve": price_of(36.0)},
        [
            bid("A", price_of(34.38), 1000),
            bid("B", price_of(35.38), 2000),
        ],
        "failed",
    ),
    "L1 reserve reached sells": Play(
        L1 | {"reserve": price_of(36.0)},
        [
            bid("A", price_of(34.38), 1000),
            bid("B", price_of(36.38), 2000),
        ],
        "sold",
        price_of(36.38),
        "B",
    ),
    # Countdown resets to bid time + 300 s: a bid 299 s after the last is in time, and the
    # lot closes 300 s after the last bid, not after the first limited deadline.
    "L1 countdown reset": Play(
        L1 | {"free_ends_at": 0},
        [
            bid("A", price_of(34.38), 299_000),
            bid("B", price_of(34.88), 598_000),
            bid("A", price_of(35.38), 897_999),
            bid("B", price_of(35.88), 1_197_999, "PHASE_CLOSED"),
        ],
        "sold",
        price_of(35.38),
        "A",
    ),
    "L1 no bid at all": Play(L1, [], "failed"),
    "P1 no reserve, single bidder sells at start": Play(
        P1, [bid("A", 2_618_000, 1000)], "sold", 2_618_000, "A"
    ),
    # L2: listing → inquiry with nobody continuing → settles on the listing's highest.
    "L2 inquiry with no continue": Play(
        L2,
        [
            bid("A", 14 * WAN, 1000),
            bid("B", 14 * WAN + WAN // 5, 2000),
            (101 * MIN, PlaceBid(bidder_id="A", bid_id="late", price=15 * WAN), "PHASE_CLOSED"),
        ],
        "sold",
        14 * WAN + WAN // 5,
        "B",
    ),
    # L2: one continues → 限时; a bidder who did not continue (and does not lead) may not bid.
    "L2 continue into limited": Play(
        L2,
        [
            bid("A", 14 * WAN, 1000),
            bid("B", 14 * WAN + WAN // 5, 2000),
            (100 * MIN + 1000, Continue(bidder_id="A"), "ok"),
            (100 * MIN + 2000, Continue(bidder_id="A"), "ALREADY_SUBMITTED"),
            bid("C", 15 * WAN, 104 * MIN, "NOT_QUALIFIED"),
            bid("A", 14 * WAN + 2 * WAN // 5, 104 * MIN),
            bid("B", 14 * WAN + 3 * WAN // 5, 106 * MIN),  # the former leader stays in the round
        ],
        "sold",
        14 * WAN + 3 * WAN // 5,
        "B",
    ),
    # R6, Shantou's entry rule: only a bidder who quoted in the listing may continue.
    "L2 quoted: only who quoted continues": Play(
        L2 | {"entry_rule": "quoted"},
        [
            bid("A", 14 * WAN, 1000),
            (100 * MIN + 1000, Continue(bidder_id="C"), "NOT_QUALIFIED"),
            (100 * MIN + 2000, Continue(bidder_id="A"), "ok"),
            bid("A", 14 * WAN + WAN // 5, 104 * MIN),
        ],
        "sold",
        14 * WAN + WAN // 5,
        "A",
    ),
    "L2 quoted: no quote, nobody may continue, 流拍": Play(
        L2 | {"entry_rule": "quoted"},
        [(100 * MIN + 1000, Continue(bidder_id="A"), "NOT_QUALIFIED")],
        "failed",
    ),
    # R6, gtmap: 限时 needs two confirmations; one alone leaves the listing's price standing.
    "L2 two must continue": Play(
        L2 | {"min_continued": 2},
        [
            bid("A", 14 * WAN, 1000),
            bid("B", 14 * WAN + WAN // 5, 2000),
            (100 * MIN + 1000, Continue(bidder_id="A"), "ok"),
            bid("A", 14 * WAN + 2 * WAN // 5, 104 * MIN, "PHASE_CLOSED"),
        ],
        "sold",
        14 * WAN + WAN // 5,
        "B",
    ),
    # Cap + lottery in 限时: the bid above the cap is clamped; others join; the seed decides.
    "L1 cap and lottery": Play(
        L1 | {"cap": price_of(40.0), "free_ends_at": 0},
        [
            bid("A", price_of(34.38), 1000),
            bid("B", price_of(45.0), 2000),
            bid("C", price_of(40.5), 3000, "CAP_REACHED"),
            (4000, Accept(bidder_id="C"), "ok"),
            (5000, Accept(bidder_id="A"), "ok"),
            (6000, Accept(bidder_id="A"), "ALREADY_SUBMITTED"),
            draw(7000, "PHASE_CLOSED"),  # the window is open: the pool is not fixed yet
            (302_000, Accept(bidder_id="C"), "PHASE_CLOSED"),  # the window has closed
            draw(303_000),
            draw(304_000, "PHASE_CLOSED"),  # drawn once
        ],
        "sold",
        price_of(40.0),
        ("B", "C", "A")[drawn(["102", "103", "101"])],
        closed_at=303_000,
    ),
    "L1 cap, nobody joins: the capper wins": Play(
        L1 | {"cap": price_of(40.0), "free_ends_at": 0},
        [
            bid("A", price_of(40.0), 1000),
        ],
        "sold",
        price_of(40.0),
        "A",
    ),
    # R2: a cap in the free phase refuses quotes but keeps the phase clock; the lottery's
    # acceptance window opens when 限时 would have begun, and lasts after_cap_s (R12).
    "L1 cap before 限时 waits for it": Play(
        L1 | {"cap": price_of(40.0), "after_cap_s": 240},
        [
            bid("A", price_of(40.0), 1000),
            bid("B", price_of(40.0), 2000, "CAP_REACHED"),
            (3000, Accept(bidder_id="B"), "PHASE_CLOSED"),  # not before 限时 would begin
            (60 * MIN + 1000, Accept(bidder_id="B"), "ok"),
            (64 * MIN + 1, Accept(bidder_id="C"), "PHASE_CLOSED"),  # the window was 240 s
            draw(65 * MIN),
        ],
        "sold",
        price_of(40.0),
        ("A", "B")[drawn(["101", "102"])],
    ),
    # R11: the secondary round is for who accepted the cap price; the capper is one.
    "L1 cap then secondary indicator round": Play(
        L1
        | {
            "cap": price_of(40.0),
            "after_cap": "secondary",
            "secondary_increment": 10,
            "free_ends_at": 0,
        },
        [
            bid("A", price_of(40.0), 1000),
            (1500, PlaceBid(bidder_id="B", bid_id="i0", indicator=10), "NOT_QUALIFIED"),
            (1600, Accept(bidder_id="B"), "ok"),
            (1700, Accept(bidder_id="C"), "ok"),
            (2000, PlaceBid(bidder_id="B", bid_id="i1", indicator=10), "ok"),
            (3000, PlaceBid(bidder_id="C", bid_id="i2", indicator=15), "OFF_INCREMENT"),
            (4000, PlaceBid(bidder_id="C", bid_id="i3", indicator=30), "ok"),
        ],
        "sold",
        price_of(40.0),
        "C",
    ),
    "L1 secondary with nobody else: the capper wins at the cap": Play(
        L1 | {"cap": price_of(40.0), "after_cap": "secondary", "free_ends_at": 0},
        [
            bid("A", price_of(40.0), 1000),
            (2000, PlaceBid(bidder_id="A", bid_id="i1", indicator=1), "ok"),
        ],
        "sold",
        price_of(40.0),
        "A",
    ),
    # R12: a listing capped in 限时: who did not continue stays out of the lottery.
    "L2 capped in 限时: the pool is the round's": Play(
        L2 | {"cap": 15 * WAN},
        [
            bid("A", 14 * WAN, 1000),
            (100 * MIN + 1000, Continue(bidder_id="B"), "ok"),
            bid("B", 15 * WAN, 104 * MIN),
            (104 * MIN + 1000, Accept(bidder_id="C"), "NOT_QUALIFIED"),
            (104 * MIN + 2000, Accept(bidder_id="A"), "ok"),  # the listing's leader was in
            draw(110 * MIN),
        ],
        "sold",
        15 * WAN,
        ("B", "A")[drawn(["102", "101"])],
    ),
    # R3: registration and deposits close at free_ends_at unless set earlier; a newcomer
    # cannot qualify in 限时 (P2) or join the cap lottery (P3).
    "L1 registration and deposit close with the free phase": Play(
        L1,
        [
            (60 * MIN, Register(bidder_id="D", plate="404", name="D"), "ok"),  # its moment
            (60 * MIN + 1, Register(bidder_id="E", plate="505", name="E"), "DEADLINE_PASSED"),
            (
                60 * MIN + 2,
                Deposit(bidder_id="D", amount=10 * WAN, kind="cash", ref="d"),
                "DEADLINE_PASSED",
            ),
            bid("D", price_of(34.38), 60 * MIN + 3, "NOT_QUALIFIED"),
            bid("A", price_of(34.38), 60 * MIN + 4),
        ],
        "sold",
        price_of(34.38),
        "A",
    ),
    "L1 deadlines set apart": Play(
        L1 | {"apply_ends_at": 10 * MIN, "deposit_ends_at": 20 * MIN},
        [
            (10 * MIN, Register(bidder_id="D", plate="404", name="D"), "ok"),
            (10 * MIN + 1, Register(bidder_id="E", plate="505", name="E"), "DEADLINE_PASSED"),
            (20 * MIN, Deposit(bidder_id="D", amount=5 * WAN, kind="cash", ref="d1"), "ok"),
            (
                20 * MIN + 1,
                Deposit(bidder_id="D", amount=5 * WAN, kind="cash", ref="d2"),
                "DEADLINE_PASSED",
            ),
            bid("D", price_of(34.38), 30 * MIN, "NOT_QUALIFIED"),  # half paid in time
        ],
        "failed",
    ),
    "L1 a newcomer cannot join the lottery": Play(
        L1 | {"cap": price_of(40.0), "free_ends_at": 10 * MIN},
        [
            bid("A", price_of(40.0), 1000),
            (10 * MIN + 1000, Register(bidder_id="N", plate="909", name="N"), "DEADLINE_PASSED"),
            (10 * MIN + 2000, Accept(bidder_id="N"), "NOT_FOUND"),
        ],
        "sold",
        price_of(40.0),
        "A",
    ),
    # ---- rows that close the gaps mutation testing found (../shared/reviews/mutation.md) ----
    # R01, R02: the highest sealed bid wins at its own price, whoever bid first.
    "sealed: the highest wins at its own price": Play(
        P1 | {"mode": "sealed", "free_ends_at": 10 * MIN},
        [bid("A", 2_628_000, 1000), bid("B", 2_818_000, 2000), bid("C", 2_718_000, 3000)],
        "sold",
        2_818_000,
        "B",
        closed_at=10 * MIN,
    ),
    # R03: a tie goes to the earlier bid, not the earlier registration.
    "sealed: a tie goes to the earlier bid": Play(
        P1 | {"mode": "sealed", "free_ends_at": 10 * MIN},
        [bid("C", 2_718_000, 1000), bid("A", 2_718_000, 2000)],
        "sold",
        2_718_000,
        "C",
    ),
    # R04: under the cap a bid stands at its own price.
    "L1 cap: a bid under it stands at its price": Play(
        L1 | {"cap": price_of(40.0), "free_ends_at": 0},
        [bid("A", price_of(34.38), 1000)],
        "sold",
        price_of(34.38),
        "A",
        closed_at=1000 + 300_000,
    ),
    # R05: the lottery is drawn: the draw's pick wins, here the third acceptor, not the
    # capper; the pool is fixed when the window closes, the close comes with the draw (R8).
    "L1 cap lottery: the draw's pick wins": Play(
        L1 | {"cap": price_of(40.0), "free_ends_at": 0, "after_cap_s": 120},
        [
            bid("A", price_of(40.0), 1000),
            (2000, Accept(bidder_id="B"), "ok"),
            (3000, Accept(bidder_id="C"), "ok"),
            draw(1000 + 120_000 + 5, share=share_picking(2, ["101", "102", "103"])),
        ],
        "sold",
        price_of(40.0),
        "C",
        closed_at=1000 + 120_000 + 5,
    ),
    "L1 cap lottery: the capper alone wins when the window closes, with no draw": Play(
        L1 | {"cap": price_of(40.0), "free_ends_at": 0, "after_cap_s": 120},
        [bid("A", price_of(40.0), 1000), draw(1000 + 120_000, "PHASE_CLOSED")],
        "sold",
        price_of(40.0),
        "A",
        closed_at=1000 + 120_000,
    ),
    # R06: a highest bid exactly at the reserve sells.
    "L1 a bid at the reserve sells": Play(
        L1 | {"reserve": price_of(34.88)},
        [bid("A", price_of(34.38), 1000), bid("B", price_of(34.88), 2000)],
        "sold",
        price_of(34.88),
        "B",
    ),
    # R07: an indicator outside the secondary round is refused and wins nothing.
    "L1 an indicator before any cap": Play(
        L1 | {"cap": price_of(40.0), "after_cap": "secondary"},
        [
            bid("A", price_of(34.38), 1000),
            (2000, PlaceBid(bidder_id="B", bid_id="i", indicator=10), "PHASE_CLOSED"),
        ],
        "sold",
        price_of(34.38),
        "A",
    ),
    # R08, R09, R10, R12: the secondary round: each indicator above the standing one on its
    # grid, each restarting the countdown (countdown_s); the round itself opens for after_cap_s.
    "L1 secondary: indicators rise and restart the clock": Play(
        L1
        | {
            "cap": price_of(40.0),
            "after_cap": "secondary",
            "secondary_increment": 10,
            "free_ends_at": 0,
            "after_cap_s": 60,
        },
        [
            bid("A", price_of(40.0), 1000),
            (2000, Accept(bidder_id="B"), "ok"),
            (3000, PlaceBid(bidder_id="B", bid_id="i1", indicator=30), "ok"),
            (4000, PlaceBid(bidder_id="A", bid_id="i2", indicator=30), "TOO_LOW"),
            (5000, PlaceBid(bidder_id="A", bid_id="i3", indicator=20), "TOO_LOW"),
            (6000, PlaceBid(bidder_id="C", bid_id="i4", indicator=40), "NOT_QUALIFIED"),
            (200_000, PlaceBid(bidder_id="A", bid_id="i5", indicator=40), "ok"),
        ],
        "sold",
        price_of(40.0),
        "A",
        closed_at=200_000 + 300_000,
    ),
    # R11, R12: a 限时 round nobody bids in closes after one countdown.
    "L1 straight into 限时, no bid": Play(
        L1 | {"free_ends_at": 0}, [], "failed", closed_at=300_000
    ),
    # R11, R12: after an inquiry in which someone continued, with no bid in the round.
    "L2 continued, then nobody bids": Play(
        L2,
        [bid("A", 14 * WAN, 1000), (100 * MIN + 1000, Continue(bidder_id="B"), "ok")],
        "sold",
        14 * WAN,
        "A",
        closed_at=100 * MIN + 180_000 + 240_000,
    ),
    # R13, R14: a dutch lot opening later than 0 offers every step down to the floor.
    "dutch: the floor is offered, opening late": Play(
        P1
        | {
            "mode": "dutch",
            "opens_at": 5 * MIN,
            "free_ends_at": 5 * MIN,
            "dutch_step": 300_000,
            "dutch_tick_s": 60,
            "dutch_floor": 2_000_000,
        },
        [(5 * MIN + 3 * MIN, Accept(bidder_id="A"), "ok")],  # 2,618,000 - 3 steps: the floor
        "sold",
        2_000_000,
        "A",
        closed_at=8 * MIN,
    ),
    "dutch: no accept, it fails a tick after the floor": Play(
        P1
        | {
            "mode": "dutch",
            "opens_at": 5 * MIN,
            "free_ends_at": 5 * MIN,
            "dutch_step": 300_000,
            "dutch_tick_s": 60,
            "dutch_floor": 2_000_000,
        },
        [],
        "failed",
        closed_at=5 * MIN + 4 * MIN,
    ),
    # R15: with no deposit asked, a registered bidder may bid at once.
    "P1 without a deposit": Play(
        P1 | {"deposit": 0}, [bid("A", 2_618_000, 1000)], "sold", 2_618_000, "A"
    ),
    # R16, R17, R19: registration's own refusals.
    "registration: taken plate, taken id, unknown bidder, after the close": Play(
        P1,
        [
            (1, Register(bidder_id="D", plate="101", name="D"), "CONFLICT"),  # A's plate
            (2, Register(bidder_id="A", plate="999", name="A2"), "CONFLICT"),
            bid("Z", 2_618_000, 1000, "NOT_FOUND"),
            bid("A", 2_618_000, 2000),
            (10**9, Register(bidder_id="E", plate="555", name="E"), "PHASE_CLOSED"),
            (10**9 + 1, Deposit(bidder_id="A", amount=1, kind="cash", ref="late"), "PHASE_CLOSED"),
        ],
        "sold",
        2_618_000,
        "A",
    ),
    # R18: refusals no play ran before.
    "continue and accept where they do not belong": Play(
        L2,
        [
            (1, Register(bidder_id="D", plate="404", name="D"), "ok"),  # and never pays
            (1000, Continue(bidder_id="A"), "PHASE_CLOSED"),  # not in an inquiry
            (2000, Accept(bidder_id="A"), "PHASE_CLOSED"),  # no dutch, no cap
            bid("A", 14 * WAN, 3000),
            (100 * MIN + 1000, Continue(bidder_id="D"), "NOT_QUALIFIED"),  # did not pay
        ],
        "sold",
        14 * WAN,
        "A",
    ),
    "dutch: who has not paid may not accept": Play(
        P1 | {"mode": "dutch", "dutch_step": 300_000, "dutch_tick_s": 60, "dutch_floor": 2_000_000},
        [
            (1, Register(bidder_id="D", plate="404", name="D"), "ok"),
            (1000, Accept(bidder_id="D"), "NOT_QUALIFIED"),
            (2000, Accept(bidder_id="B"), "ok"),
        ],
        "sold",
        2_618_000,
        "B",
    ),
    # Sealed: one bid each, equal prices go to the earlier bid.
    "sealed ties go to the earlier bid": Play(
        P1 | {"mode": "sealed", "free_ends_at": 10 * MIN},
        [
            bid("A", 2_718_000, 1000),
            bid("B", 2_718_000, 500 + 1000),
            bid("C", 2_618_000, 3000),
            bid("A", 2_818_000, 4000, "ALREADY_SUBMITTED"),
            bid("C", 2_618_001, 5000, "OFF_INCREMENT"),  # refused before it is sealed
        ],
        "sold",
        2_718_000,
        "A",
    ),
    "sealed off grid": Play(
        P1 | {"mode": "sealed", "free_ends_at": 10 * MIN},
        [bid("A", 2_618_050, 1000, "OFF_INCREMENT")],
        "failed",
    ),
    # Dutch: from the start, one step per tick; the first accept takes the current price.
    "dutch first accept": Play(
        P1 | {"mode": "dutch", "dutch_step": 100_000, "dutch_tick_s": 60, "dutch_floor": 2_000_000},
        [
            (2 * MIN + 5, Accept(bidder_id="B"), "ok"),
            (2 * MIN + 6, Accept(bidder_id="A"), "PHASE_CLOSED"),
        ],
        "sold",
        2_618_000 - 2 * 100_000,
        "B",
    ),
    "dutch nobody accepts": Play(
        P1 | {"mode": "dutch", "dutch_step": 300_000, "dutch_tick_s": 60, "dutch_floor": 2_000_000},
        [bid("A", 2_618_000, 1000, "PHASE_CLOSED")],
        "failed",
    ),
}


@pytest.mark.parametrize("name", list(PLAYS))
def test_play(name: str) -> None:
    play = PLAYS[name]
    state, log = run(play)
    closed = next(e for e in log if e["kind"] == "closed")
    assert state.phase == "closed"
    assert closed["outcome"] == play.outcome
    assert closed["price"] == (play.price if play.outcome == "sold" else None)
    assert state.winner == (play.winner if play.outcome == "sold" else None)
    if play.closed_at is not None:
        assert closed["ts"] == play.closed_at
    assert [e["seq"] for e in log] == list(range(log[0]["seq"], log[0]["seq"] + len(log)))


def test_a_bidder_without_the_full_deposit_may_not_bid() -> None:
    state = rules.create(LotConfig.parse(P1), SECRETS, 0).state
    state = rules.step(state, Register(bidder_id="D", plate="555", name="D"), 0).state
    short = Deposit(bidder_id="D", amount=P1["deposit"] - 1, kind="guarantee", ref="r")
    state = rules.step(state, short, 0).state
    step = rules.step(state, PlaceBid(bidder_id="D", bid_id="x", price=2_618_000), 1000)
    assert step.answer["code"] == "NOT_QUALIFIED" and step.state.price is None


def test_deposit_qualifies_only_once_the_sum_is_reached() -> None:
    state = rules.create(LotConfig.parse(P1), SECRETS, 0).state
    state = rules.step(state, Register(bidder_id="A", plate="555", name="A"), 0).state
    half = P1["deposit"] // 2
    for ref, qualified in (("r1", False), ("r1", False), ("r2", True)):
        step = rules.step(state, Deposit(bidder_id="A", amount=half, kind="cash", ref=ref), 0)
        assert step.answer["qualified"] is qualified
        state = step.state
    assert state.bidders["A"].deposit == P1["deposit"]  # the resent ref counted once


def test_refusal_changes_nothing_but_the_log() -> None:
    state = run(Play(L1, [bid("A", price_of(34.38), 1000)], "sold"))[0]
    before = rules.create(LotConfig.parse(L1), SECRETS, 0).state
    assert before.price is None and state.price == price_of(34.38)
    step = rules.step(state, PlaceBid(bidder_id="B", bid_id="x", price=1), state.ts)
    assert step.answer["code"] == "PHASE_CLOSED"  # closed by the final tick
    assert step.state.price == state.price and step.state.phase == state.phase
    assert [e["kind"] for e in step.entries] == ["refused"]


def test_resent_bid_id_returns_the_first_answer_and_logs_nothing() -> None:
    state = rules.create(LotConfig.parse(L1), SECRETS, 0).state
    state = rules.step(state, Register(bidder_id="A", plate="555", name="A"), 0).state
    state = rules.step(
        state, Deposit(bidder_id="A", amount=10 * WAN, kind="cash", ref="r"), 0
    ).state
    first = rules.step(state, PlaceBid(bidder_id="A", bid_id="same", price=price_of(34.38)), 5)
    again = rules.step(first.state, PlaceBid(bidder_id="A", bid_id="same", price=1), 6)
    assert again.answer == first.answer and again.entries == []


def test_reserve_commitment_is_revealed_at_close() -> None:
    state, log = run(Play(L1 | {"reserve": price_of(36.0)}, [], "failed"))
    created, closed = rules.create(state.config, SECRETS, 0).entries[0], log[-1]
    assert closed["reserve"] == price_of(36.0)
    assert created["reserve_commitment"] == reserve_commitment(
        closed["reserve"], closed["reserve_salt"]
    )
    assert "reserve" not in created["config"]


def test_deadlines_are_stamped_at_their_own_time() -> None:
    state = rules.create(LotConfig.parse(L1), SECRETS, 0).state
    late = L1["countdown_s"] * 1000 + 2_000  # a tick within the grace of each deadline
    first = rules.step(state, Tick(), 60 * MIN + 2_000)
    second = rules.step(first.state, Tick(), 60 * MIN + late)
    assert [(e["kind"], e.get("phase"), e["ts"]) for e in first.entries + second.entries] == [
        ("phase", "free", 0),
        ("phase", "limited", 60 * MIN),
        ("closed", None, 60 * MIN + 300_000),
    ]


def test_a_deadline_reached_late_suspends_instead_of_deciding() -> None:
    """R1: the platform was down through the 限时 countdown; on its return the lot was
    sold at the old deadline although nobody could bid. Now it is suspended."""
    state, _ = run(Play(L1, [bid("A", price_of(34.38), 60 * MIN + 1000)], "sold"), close=False)
    gone = rules.step(state, Tick(), 60 * MIN + 1000 + 300_000 + 20 * MIN)  # 20 min late
    assert [(e["kind"], e["phase"], e["by"], e["ts"]) for e in gone.entries] == [
        ("suspended", "limited", "platform", 60 * MIN + 1000 + 300_000 + 20 * MIN)
    ]
    assert gone.state.phase == "suspended" and gone.state.outcome is None
    now = 90 * MIN
    refused = rules.step(
        gone.state, PlaceBid(bidder_id="B", bid_id="b", price=price_of(34.88)), now
    )
    assert refused.answer["code"] == "SUSPENDED"
    asked = rules.step(refused.state, Resume(by="host", reason="故障已排除"), now + 1)
    assert asked.answer["pending"] == "resume" and asked.state.phase == "suspended"
    again = rules.step(asked.state, Resume(by="host", reason="再次"), now + 2)
    assert again.answer["code"] == "CONFLICT"  # the same role cannot confirm itself
    resumed = rules.step(asked.state, Resume(by="supervisor", reason="同意恢复"), now + 3)
    assert resumed.state.phase == "limited" and resumed.state.deadline == now + 3 + 300_000
    assert [e["kind"] for e in asked.entries + resumed.entries] == ["requested", "resumed"]


def test_suspend_freezes_what_is_left_and_terminate_takes_two() -> None:
    state = rules.create(LotConfig.parse(L1), SECRETS, 0).state
    state = rules.step(state, Tick(), 1000).state  # free, 60 min to go
    held = rules.step(state, Suspend(by="supervisor", reason="公告有误"), 10 * MIN)
    assert held.state.held == ("free", 50 * MIN, 10 * MIN) and held.state.deadline is None
    back = rules.step(held.state, Resume(by="supervisor", reason="更正"), 20 * MIN)
    back = rules.step(back.state, Resume(by="host", reason="更正完毕"), 30 * MIN)
    assert back.state.phase == "free" and back.state.deadline == 30 * MIN + 50 * MIN
    ask = rules.step(back.state, Terminate(by="host", reason="出让人撤回"), 31 * MIN)
    assert ask.state.phase == "free"  # one role alone ends nothing
    done = rules.step(ask.state, Terminate(by="supervisor", reason="同意"), 32 * MIN)
    closed = done.entries[-1]
    assert (closed["kind"], closed["outcome"], closed["by"]) == (
        "closed",
        "terminated",
        "supervisor",
    )
    assert done.state.phase == "closed" and done.state.outcome == "terminated"


def test_a_suspension_before_the_deadlines_moves_them_on_and_one_after_does_not() -> None:
    config = LotConfig.parse(L1 | {"apply_ends_at": 20 * MIN, "deposit_ends_at": 40 * MIN})
    state = rules.step(rules.create(config, SECRETS, 0).state, Tick(), 1000).state
    held = rules.step(state, Suspend(by="host", reason="断网"), 30 * MIN).state
    # suspended between the two: registration stays shut, the deposit window is frozen open
    late = Register(bidder_id="D", plate="404", name="D")
    assert rules.step(held, late, 50 * MIN).answer["code"] == "DEADLINE_PASSED"
    held = rules.step(held, Resume(by="host", reason="修复"), 50 * MIN).state
    back = rules.step(held, Resume(by="supervisor", reason="同意"), 60 * MIN).state
    assert (back.apply_by, back.deposit_by) == (20 * MIN, 70 * MIN)
    assert rules.step(back, late, 60 * MIN + 1).answer["code"] == "DEADLINE_PASSED"


def test_a_deposit_ref_belongs_to_the_bidder_it_paid_for() -> None:
    """Review L5: a second bidder's deposit with the same bank reference got the first's
    answer, and the console showed the wrong plate as qualified."""
    state = rules.create(LotConfig.parse(P1), SECRETS, 0).state
    for who, plate in (("A", "555"), ("B", "666")):
        state = rules.step(state, Register(bidder_id=who, plate=plate, name=who), 0).state

    def pay(who: str) -> Deposit:
        return Deposit(bidder_id=who, amount=P1["deposit"], kind="cash", ref="bank-1")

    paid = rules.step(state, pay("A"), 0)
    other = rules.step(paid.state, pay("B"), 0)
    assert other.answer == {"accepted": False, "code": "CONFLICT"} and other.entries == []
    assert not other.state.bidders["B"].qualified
    retried = rules.step(paid.state, pay("A"), 0)
    assert retried.answer == paid.answer and retried.entries == []


def _sealed_lot() -> LotState:
    state = rules.create(LotConfig.parse(P1 | {"mode": "sealed", "free_ends_at": 10 * MIN}),
                         SECRETS, 0).state  # fmt: skip
    for i, who in enumerate("ABC"):
        state = rules.step(state, Register(bidder_id=who, plate=f"{101 + i}", name=who), 0).state
        dep = Deposit(bidder_id=who, amount=P1["deposit"], kind="cash", ref=f"r{who}")
        state = rules.step(state, dep, 0).state
    for at, who in enumerate("ABC"):
        state = rules.step(
            state, PlaceBid(bidder_id=who, bid_id=who, sealed=f"box{who}"), at + 1
        ).state
    return state


def test_a_sealed_lot_holds_no_price_and_waits_at_its_deadline_to_be_opened() -> None:
    """Review H5: sealed prices were in the log and the store for staff to read."""
    state = _sealed_lot()
    assert all(b.sealed_box and "price" not in str(b) for b in state.bidders.values())
    late = rules.step(state, PlaceBid(bidder_id="A", bid_id="late", sealed="x"), 10 * MIN + 1)
    assert late.answer["code"] == "PHASE_CLOSED" and late.state.phase == "sealed"
    waiting = rules.step(late.state, Tick(), 10 * MIN + 2)
    assert waiting.state.phase == "sealed" and waiting.entries == []


def test_opening_voids_what_did_not_open_or_is_off_the_grid() -> None:
    opened = {"A": 2_718_000, "B": 2_718_050}  # C's did not open; B's is off the grid
    closed = rules.step(_sealed_lot(), Tick(opened=opened, key="ab" * 32), 10 * MIN + 5)
    revealed = next(e for e in closed.entries if e["kind"] == "revealed")
    assert revealed["rows"] == [["101", 2_718_000, revealed["rows"][0][2]]]
    assert [v[:2] for v in revealed["void"]] == [["102", 2_718_050], ["103", None]]
    assert revealed["key"] == "ab" * 32 and revealed["ts"] == 10 * MIN
    assert closed.state.outcome == "sold" and closed.state.winner == "A"


def test_a_log_with_suspensions_and_a_termination_replays() -> None:
    from auction.lot.replay import replay

    made = rules.create(LotConfig.parse(L1), SECRETS, 0)
    state, log = made.state, list(made.entries)
    moves: list[tuple[int, Command]] = [
        (1000, Tick()),
        (2 * MIN, Suspend(by="host", reason="网络故障")),
        (3 * MIN, Resume(by="host", reason="已修复")),
        (4 * MIN, Resume(by="supervisor", reason="同意")),
        (90 * MIN, Tick()),  # long past free_ends_at: suspended by the platform
        (91 * MIN, Terminate(by="supervisor", reason="终止")),
        (92 * MIN, Terminate(by="host", reason="同意")),
    ]
    for at, command in moves:
        step = rules.step(state, command, at)
        state, log = step.state, log + step.entries
    kinds = [e["kind"] for e in log]
    assert kinds.count("suspended") == 2 and kinds.count("requested") == 2
    assert log[-1]["outcome"] == "terminated"
    replayed = replay(log, "lot1")
    assert (replayed.phase, replayed.outcome, replayed.seq) == ("closed", "terminated", state.seq)


def test_a_suspension_stops_the_clocks_the_config_sets() -> None:
    """Found in review: a dutch price kept falling through a suspension, and a lot
    suspended before it opened came back past its free phase's end."""
    dutch = P1 | {
        "mode": "dutch",
        "dutch_step": 100_000,
        "dutch_tick_s": 60,
        "dutch_floor": 2_000_000,
    }
    state = rules.create(LotConfig.parse(dutch), SECRETS, 0).state
    for who in "AB":
        state = rules.step(state, Register(bidder_id=who, plate=f"1{who}", name=who), 0).state
        state = rules.step(state, Deposit(bidder_id=who, amount=P1["deposit"], kind="cash",
                                          ref=who), 0).state  # fmt: skip
    state = rules.step(state, Tick(), 1000).state  # open: 26,180.00 and falling a step a minute
    state = rules.step(state, Suspend(by="host", reason="停电"), 2 * MIN + 1000).state  # 2 steps
    state = rules.step(state, Resume(by="host", reason="来电"), 60 * MIN).state
    state = rules.step(state, Resume(by="supervisor", reason="同意"), 60 * MIN + 1000).state
    taken = rules.step(state, Accept(bidder_id="A"), 60 * MIN + 2000)
    assert taken.answer["price"] == 2_618_000 - 2 * 100_000  # where it stood, not the floor

    early = rules.create(LotConfig.parse(L1 | {"opens_at": 10 * MIN}), SECRETS, 0).state
    early = rules.step(early, Suspend(by="supervisor", reason="公告更正"), MIN).state
    early = rules.step(early, Resume(by="supervisor", reason="更正完毕"), 2 * 60 * MIN).state
    early = rules.step(early, Resume(by="host", reason="同意"), 2 * 60 * MIN + 1000).state
    opened = rules.step(early, Tick(), 2 * 60 * MIN + 1000 + 9 * MIN)
    assert opened.state.phase == "free"  # its free hour still ahead, moved by the suspension
    assert opened.state.deadline == L1["free_ends_at"] + (2 * 60 * MIN + 1000 - MIN)


@pytest.mark.parametrize(
    ("phase", "price", "at", "expected"),
    [
        ("scheduled", None, 0, P1["start_price"]),
        ("free", None, 0, P1["start_price"]),
        ("limited", 2_718_000, 0, 2_718_000 + P1["increment"]),
        ("inquiry", 2_718_000, 0, 2_718_000 + P1["increment"]),
        ("sealed", None, 0, P1["start_price"]),
        ("capped", 2_718_000, 0, None),
        ("closed", 2_718_000, 0, None),
    ],
)
def test_the_next_minimum_a_bidder_is_shown(
    phase: str, price: int | None, at: int, expected: int | None
) -> None:
    """R20: the lowest acceptable next bid, shown on every page, had no test."""
    assert prices.next_min(LotConfig.parse(P1), phase, price, at) == expected


def test_a_dutch_lot_shows_its_falling_price_as_the_next_minimum() -> None:
    config = LotConfig.parse(P1 | {"mode": "dutch", "opens_at": 5 * MIN, "free_ends_at": 5 * MIN,
                                   "dutch_step": 300_000, "dutch_tick_s": 60,
                                   "dutch_floor": 2_000_000})  # fmt: skip
    shown = [prices.next_min(config, "dutch", None, 5 * MIN + k * MIN) for k in range(5)]
    assert shown == [2_618_000, 2_318_000, 2_018_000, 2_000_000, 2_000_000]


def test_the_draw_is_the_published_formula() -> None:
    """What an auditor recomputes from the `closed` entry: SHA-1 of `seed|share|plates`
    (plates in join order, comma-joined), its first 48 bits modulo the pool's size."""
    seed, plates = SECRETS.lottery_seed, ["102", "103", "101"]
    digest = hashlib.sha1(f"{seed}|{SHARE}|102,103,101".encode()).hexdigest()
    assert lottery_index(seed, SHARE, plates) == int(digest[:12], 16) % 3
    picks = {lottery_index(seed, f"{n:064x}", plates) for n in range(30)}
    assert picks == {0, 1, 2}  # the share moves the pick: every position can win


def test_only_the_supervisor_draws_with_a_share_of_32_bytes() -> None:
    with pytest.raises(BadMessage) as host:
        Draw(by="host", share=SHARE)
    assert host.value.field == "by"
    for share in ("5e" * 31, "5E" * 32, "zz" * 32, 5):
        with pytest.raises(BadMessage) as bad:
            Draw(by="supervisor", share=share)  # type: ignore[arg-type]
        assert bad.value.field == "share"


def _pool_waiting() -> LotState:
    play = Play(
        L1 | {"cap": price_of(40.0), "free_ends_at": 0, "after_cap_s": 120},
        [bid("A", price_of(40.0), 1000), (2000, Accept(bidder_id="B"), "ok")],
        "",
    )
    state, log = run(play)
    assert state.awaiting_draw and log[-1]["kind"] == "pool" and log[-1]["pub"]
    assert log[-1]["plates"] == ["101", "102"] and log[-1]["ts"] == 121_000
    return state


def test_a_suspended_pool_waits_for_its_resume_before_the_draw() -> None:
    state = rules.step(_pool_waiting(), Suspend(by="host", reason="断电"), 130_000).state
    refused = rules.step(state, Draw(by="supervisor", share=SHARE), 131_000)
    assert refused.answer["code"] == "SUSPENDED" and refused.entries == []
    state = rules.step(state, Resume(by="host", reason="恢复"), 132_000).state
    state = rules.step(state, Resume(by="supervisor", reason="同意"), 133_000).state
    assert state.awaiting_draw  # back to waiting, with no deadline to run out
    drawn_now = rules.step(state, Draw(by="supervisor", share=SHARE), 134_000)
    closed = drawn_now.entries[-1]
    assert closed["kind"] == "closed" and closed["lottery_share"] == SHARE
    assert closed["lottery_plates"] == ["101", "102"] and closed["ts"] == 134_000
    assert drawn_now.answer == {
        "accepted": True, "seq": closed["seq"], "pseq": closed["pseq"],
        "winner_plate": closed["winner_plate"],
    }  # fmt: skip


def test_a_drawn_lottery_replays_and_a_changed_share_does_not() -> None:
    from auction.log import Discrepancy
    from auction.lot.replay import replay

    config = LotConfig.parse(L1 | {"cap": price_of(40.0), "free_ends_at": 0})
    made = rules.create(config, SECRETS, 0)
    state, log = made.state, list(made.entries)
    moves: list[tuple[int, Command]] = []
    for who, plate in (("A", "101"), ("B", "102")):
        moves += [
            (0, Register(bidder_id=who, plate=plate, name=who)),
            (0, Deposit(bidder_id=who, amount=10 * WAN, kind="cash", ref=f"r{who}")),
        ]
    moves += [
        (1000, PlaceBid(bidder_id="A", bid_id="a", price=price_of(40.0))),
        (2000, Accept(bidder_id="B")),
        (301_000, Tick()),
        (305_000, Draw(by="supervisor", share=SHARE)),
    ]
    for at, command in moves:
        step = rules.step(state, command, at)
        state, log = step.state, log + step.entries
    assert state.outcome == "sold" and state.winner == ("A", "B")[drawn(["101", "102"])]
    assert replay(log, "lot").winner == state.winner
    other = next(f"{n:064x}" for n in range(99) if drawn(["101", "102"], share=f"{n:064x}")
                 != drawn(["101", "102"]))  # fmt: skip
    forged = [e | {"lottery_share": other} if e["kind"] == "closed" else e for e in log]
    with pytest.raises(Discrepancy):
        replay(forged, "lot")
