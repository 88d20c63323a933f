"""The replay `openbid verify` runs over a lot's log (auction/lot/replay.py): an honest log,
written by the rules themselves, replays to the state the rules reached; a log changed
anywhere raises `Discrepancy` naming the first entry (seq) that no longer holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from auction.log import Discrepancy, Entry, Tick
from auction.lot import rules, sealing
from auction.lot.config import LotConfig
from auction.lot.replay import replay
from auction.lot.state import (
    Accept,
    Command,
    Continue,
    Deposit,
    LotState,
    PlaceBid,
    Register,
    Secrets,
)

WAN = 1_000_000  # 1 万元 in fen
MIN = 60_000
SECRETS = Secrets(reserve_salt="5a" * 16, lottery_seed="c0ffee" + "00" * 13)
LOT = "lot-7"

AUCTION: dict[str, Any] = dict(
    title="GB00047", category="land", mode="auction", quote_unit="元",
    start_price=34 * WAN, increment=WAN // 2, deposit=10 * WAN,
    opens_at=0, free_ends_at=60 * MIN, countdown_s=300,
)  # fmt: skip
LISTING: dict[str, Any] = dict(
    title="2025B2", category="land", mode="listing", quote_unit="万元/亩",
    start_price=14 * WAN, increment=WAN // 5, deposit=60 * WAN,
    opens_at=0, free_ends_at=100 * MIN, inquiry_s=180, countdown_s=240,
)  # fmt: skip
SEALED: dict[str, Any] = dict(
    title="LED lease", category="property", mode="sealed", quote_unit="元/月",
    start_price=2_618_000, increment=10_000, deposit=7_500_000,
    opens_at=0, free_ends_at=10 * MIN,
)  # fmt: skip


@dataclass
class Lot:
    """A lot driven through the rules, keeping every entry as the log would."""

    state: LotState
    log: list[Entry]

    @classmethod
    def new(cls, raw: dict[str, Any], commitment: str | None = None) -> Lot:
        made = rules.create(LotConfig.parse(raw), SECRETS, 0, commitment)
        return cls(made.state, list(made.entries))

    def do(self, command: Command, at: int) -> dict[str, Any]:
        result = rules.step(self.state, command, at)
        self.state, self.log = result.state, self.log + result.entries
        return result.answer

    def enrol(self, bidders: str, deposit: int) -> None:
        for i, who in enumerate(bidders):
            self.do(Register(bidder_id=who, plate=f"{101 + i}", name=f"{who}公司"), 0)
            self.do(Deposit(bidder_id=who, amount=deposit, kind="cash", ref=f"r{who}"), 0)

    def seq_of(self, kind: str) -> int:
        return int(next(e["seq"] for e in self.log if e["kind"] == kind))


def bid(who: str, price: int, bid_id: str = "") -> PlaceBid:
    return PlaceBid(bidder_id=who, bid_id=bid_id or f"{who}{price}", price=price)


def auction_with_refusals() -> Lot:
    lot = Lot.new(AUCTION)
    lot.enrol("ABC", AUCTION["deposit"])
    assert lot.do(bid("A", 34 * WAN), 1000)["accepted"]
    assert lot.do(bid("B", 34 * WAN), 2000)["code"] == "TOO_LOW"  # a refusal the log keeps
    assert lot.do(bid("B", 35 * WAN), 3000)["accepted"]
    lot.do(Tick(), 60 * MIN)  # into 限时
    assert lot.do(bid("C", 35 * WAN + 1), 60 * MIN + 1000)["code"] == "OFF_INCREMENT"
    lot.do(Tick(), 60 * MIN + 300_000)  # the countdown ends: sold to B
    return lot


def reserve_lot() -> Lot:
    lot = Lot.new(AUCTION | {"reserve": 36 * WAN})
    lot.enrol("AB", AUCTION["deposit"])
    lot.do(bid("A", 34 * WAN), 1000)
    lot.do(bid("B", 37 * WAN), 2000)
    lot.do(Tick(), 60 * MIN)
    lot.do(Tick(), 60 * MIN + 300_000)
    return lot


def listing_with_continue() -> Lot:
    lot = Lot.new(LISTING)
    lot.enrol("AB", LISTING["deposit"])
    lot.do(bid("A", 14 * WAN), 1000)
    lot.do(Tick(), 100 * MIN)  # inquiry
    assert lot.do(Continue(bidder_id="B"), 100 * MIN + 1000)["accepted"]
    assert lot.do(Continue(bidder_id="B"), 100 * MIN + 2000)["code"] == "ALREADY_SUBMITTED"
    lot.do(Tick(), 103 * MIN)  # 限时 for A (the leader) and B
    lot.do(bid("B", 14 * WAN + WAN // 5), 103 * MIN + 1000)
    lot.do(Tick(), 103 * MIN + 1000 + 240_000)
    return lot


def secondary_round() -> Lot:
    capped = AUCTION | {"cap": 40 * WAN, "after_cap": "secondary", "secondary_increment": 10,
                        "free_ends_at": 0}  # fmt: skip
    lot = Lot.new(capped)
    lot.enrol("ABC", AUCTION["deposit"])
    lot.do(bid("A", 40 * WAN), 1000)
    lot.do(Accept(bidder_id="B"), 1500)
    assert lot.do(PlaceBid(bidder_id="B", bid_id="i1", indicator=10), 2000)["accepted"]
    refused = lot.do(PlaceBid(bidder_id="C", bid_id="i2", indicator=10), 2500)
    assert refused["code"] == "NOT_QUALIFIED"  # C never accepted the cap price
    lot.do(Tick(), 2000 + 300_000)
    return lot


def still_open() -> Lot:
    lot = Lot.new(AUCTION)
    lot.enrol("AB", AUCTION["deposit"])
    lot.do(bid("A", 34 * WAN), 1000)
    return lot


def sealing_key(lot_id: str = LOT) -> bytes:
    return sealing.lot_key(b"the server's sealing secret", lot_id)


def sealed_lot() -> Lot:
    key = sealing_key()
    lot = Lot.new(SEALED, sealing.sealing_commitment(key))
    lot.enrol("ABC", SEALED["deposit"])
    prices = {"A": 2_718_000, "B": 2_818_000, "C": 2_818_005}  # C's is off the grid: void
    for at, (who, price) in enumerate(prices.items(), start=1):
        box = sealing.seal_price(key, LOT, who, price)
        assert lot.do(PlaceBid(bidder_id=who, bid_id=who, sealed=box), at)["accepted"]
    boxes = {b.bidder_id: b.sealed_box for b in lot.state.bidders.values()}
    opened = sealing.open_all(key, LOT, boxes)
    assert opened == prices
    lot.do(Tick(opened=opened, key=key.hex()), 10 * MIN)  # the server's close
    assert lot.state.outcome == "sold" and lot.state.winner == "B"
    return lot


# what each close reveals of the lot's secrets: a replay knows no more than the log
NOTHING_REVEALED = Secrets(reserve_salt="", lottery_seed="")
SEED_REVEALED = Secrets(reserve_salt="", lottery_seed=SECRETS.lottery_seed)
HONEST: dict[str, tuple[Callable[[], Lot], Secrets]] = {
    "auction with refused bids": (auction_with_refusals, SEED_REVEALED),
    "reserve revealed at the close": (reserve_lot, SECRETS),
    "listing with continues": (listing_with_continue, SEED_REVEALED),
    "secondary round of indicators": (secondary_round, SEED_REVEALED),
    "a lot still open": (still_open, NOTHING_REVEALED),
    "sealed bids opened again": (sealed_lot, SEED_REVEALED),
}


@pytest.mark.parametrize("name", list(HONEST))
def test_an_honest_log_replays_to_the_state_the_rules_reached(name: str) -> None:
    play, revealed = HONEST[name]
    lot = play()
    assert replay(lot.log, LOT) == replace(lot.state, secrets=revealed)


def test_the_plays_cover_what_the_replay_must_rebuild() -> None:
    """The honest plays above hold every kind of command the replay rebuilds."""
    kinds = {
        (e["kind"], e.get("command"))
        for name in HONEST
        for e in HONEST[name][0]().log
    }  # fmt: skip
    assert {
        ("refused", "bid"), ("refused", "continue"), ("continue", None), ("indicator", None),
        ("revealed", None), ("accept", None), ("deposit", None), ("registered", None),
    } <= kinds  # fmt: skip


def test_a_still_open_lot_replays_without_a_close_to_check_against() -> None:
    lot = still_open()
    assert "closed" not in [e["kind"] for e in lot.log]
    replayed = replay(lot.log, LOT)
    assert (replayed.phase, replayed.price, replayed.leader) == ("free", 34 * WAN, "A")


def _at(kind: str, change: Callable[[Entry], Entry]) -> Callable[[list[Entry]], list[Entry]]:
    """A forgery: the first entry of `kind` changed by `change`."""

    def forge(log: list[Entry]) -> list[Entry]:
        i = next(i for i, e in enumerate(log) if e["kind"] == kind)
        return [*log[:i], change(dict(log[i])), *log[i + 1 :]]

    return forge


def _without(key: str) -> Callable[[Entry], Entry]:
    return lambda e: {k: v for k, v in e.items() if k != key}


START = "the log does not start with the lot's `created` entry"
CREATED = "the `created` entry is not what the rules write for its config"
FORGERIES: list[tuple[str, Callable[[], Lot], Callable[[list[Entry]], list[Entry]], str, str]] = [
    ("an empty log", still_open, lambda log: [], "", f"seq 1: {START}"),
    ("no created entry first", still_open, lambda log: log[1:], "", f"seq 1: {START}"),
    ("created numbered 2", still_open, _at("created", lambda e: e | {"seq": 2}), "",
     f"seq 1: {START}"),
    ("created of another kind", still_open, _at("created", lambda e: e | {"kind": "phase"}), "",
     f"seq 1: {START}"),
    ("a config the rules refuse", still_open,
     _at("created", lambda e: e | {"config": e["config"] | {"increment": 0}}), "",
     "seq 1: the lot's config does not hold: increment: must be at least 1"),
    ("a reserve claimed where none is", auction_with_refusals,
     _at("created", lambda e: e | {"has_reserve": True}), "", f"seq 1: {CREATED}"),
    ("an open lot's created entry made private", still_open,
     _at("created", lambda e: e | {"pub": False}), "", f"seq 1: {CREATED}"),
    ("a created entry made private", auction_with_refusals,
     _at("created", lambda e: e | {"pub": False}), "", f"seq 1: {CREATED}"),
    ("another reserve revealed", reserve_lot,
     _at("closed", lambda e: e | {"reserve": 36 * WAN + WAN}), "closed",
     "the revealed reserve does not match its commitment"),
    ("another reserve salt revealed", reserve_lot,
     _at("closed", lambda e: e | {"reserve_salt": "00" * 16}), "closed",
     "the revealed reserve does not match its commitment"),
    ("another lottery seed revealed", reserve_lot,
     _at("closed", lambda e: e | {"lottery_seed": "00" * 16}), "closed",
     "the revealed lottery seed does not match its commitment"),
    ("another lottery seed, no reserve", auction_with_refusals,
     _at("closed", lambda e: e | {"lottery_seed": "00" * 16}), "closed",
     "the revealed lottery seed does not match its commitment"),
    ("a sealing key that is not hex", sealed_lot,
     _at("revealed", lambda e: e | {"key": "zz" * 32}), "revealed",
     "the revealed sealing key is not hex"),
    ("no sealing key", sealed_lot, _at("revealed", _without("key")), "revealed",
     "the revealed sealing key is not hex"),
    ("a key other than the committed one", sealed_lot,
     _at("revealed", lambda e: e | {"key": sealing_key("lot-8").hex()}), "revealed",
     "the revealed key is not the one committed to"),
    ("a sealed lot's commitment dropped", sealed_lot,
     _at("created", _without("sealing_commitment")), "revealed",
     "the revealed key is not the one committed to"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "play", "forge", "at", "what"), FORGERIES, ids=[f[0] for f in FORGERIES]
)
def test_a_forged_log_is_a_discrepancy_at_the_forged_entry(
    name: str,
    play: Callable[[], Lot],
    forge: Callable[[list[Entry]], list[Entry]],
    at: str,
    what: str,
) -> None:
    lot = play()
    seq = lot.seq_of(at) if at else 1
    with pytest.raises(Discrepancy) as caught:
        replay(forge(lot.log), LOT)
    assert caught.value.seq == seq
    assert str(caught.value) == (what if what.startswith("seq ") else f"seq {seq}: {what}")


def test_sealed_bids_open_only_for_their_own_lot() -> None:
    """The lot id is bound into every sealed bid: replayed as another lot's log, no bid
    opens, and the close the rules write differs from the logged one at `revealed`."""
    lot = sealed_lot()
    with pytest.raises(Discrepancy) as caught:
        replay(lot.log, "lot-8")
    assert caught.value.seq == lot.seq_of("revealed")
    assert str(caught.value).startswith(f"seq {lot.seq_of('revealed')}: logged ")


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("bid", {"price": 34 * WAN + 1}),
        ("bid", {"pub": False}),
        ("refused", {"code": "OFF_INCREMENT"}),
        ("refused", {"price": 34 * WAN + WAN // 2}),
        ("deposit", {"amount": 1}),
        ("registered", {"plate": ""}),
    ],
)
def test_a_changed_command_is_a_discrepancy_at_its_entry(kind: str, change: Entry) -> None:
    lot = auction_with_refusals()
    with pytest.raises(Discrepancy) as caught:
        replay(_at(kind, lambda e: e | change)(lot.log), LOT)
    assert caught.value.seq == lot.seq_of(kind)


@pytest.mark.parametrize(
    ("play", "kind", "change"),
    [
        (listing_with_continue, "continue", {"plate": "999"}),
        (listing_with_continue, "refused", {"plate": "101"}),
        (secondary_round, "indicator", {"indicator": 15}),
        (secondary_round, "refused", {"code": "OFF_INCREMENT"}),
        (sealed_lot, "bid", {"sealed": ""}),
    ],
)
def test_changed_continues_indicators_and_sealed_bids_are_discrepancies(
    play: Callable[[], Lot], kind: str, change: Entry
) -> None:
    lot = play()
    with pytest.raises(Discrepancy) as caught:
        replay(_at(kind, lambda e: e | change)(lot.log), LOT)
    assert caught.value.seq == lot.seq_of(kind)


def test_a_bid_from_a_plate_never_registered_names_the_missing_bidder() -> None:
    lot = auction_with_refusals()
    forged = _at("bid", lambda e: e | {"plate": "999"})(lot.log)
    entry = next(e for e in forged if e["kind"] == "bid")
    with pytest.raises(Discrepancy) as caught:
        replay(forged, LOT)
    assert str(caught.value) == (
        f"seq {entry['seq']}: logged {entry}: bidder_id: must be 1 to 64 characters"
    )
