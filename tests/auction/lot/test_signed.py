"""Who a lot's log names (auction/lot/state.py, rules.py, suspension.py, closing.py): the
staff member (`actor`) on registrations, deposits, suspensions, two-person requests, resumes,
terminations and draws; a bidder's signature (`sig`) on its accepted bid, continue or accept,
and nowhere else; a registration's `public_key`. `openbid verify` rebuilds each command from
its entry, so an honest log that names them replays, and each field is checked as it comes
off the wire."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from auction.errors import BadMessage
from auction.log import Entry, Tick
from auction.lot.replay import replay
from auction.lot.state import (
    Accept,
    Continue,
    Deposit,
    Draw,
    PlaceBid,
    Register,
    Resume,
    Secrets,
    Suspend,
    Terminate,
    parse,
)
from tests.auction.lot.test_replay import AUCTION, LISTING, LOT, MIN, SECRETS, WAN, Lot

PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
SHARE = "5e" * 32
SEED_REVEALED = Secrets(reserve_salt="", lottery_seed=SECRETS.lottery_seed)


def fields(entry: Entry) -> Entry:
    """An entry without its numbers and time."""
    return {k: v for k, v in entry.items() if k not in ("seq", "pseq", "ts")}


# ---- on the wire -------------------------------------------------------------------------

REGISTER: dict[str, Any] = {"bidder_id": "b1", "plate": "101", "name": "某某置业有限公司"}
DEPOSIT: dict[str, Any] = {
    "bidder_id": "b1",
    "amount": 10_000_000,
    "kind": "cash",
    "ref": "BANK-0001",
}
BID: dict[str, Any] = {"bidder_id": "b1", "bid_id": "c-1", "price": 34_880_000}
STAFF: dict[str, Any] = {"by": "host", "reason": "网络故障"}
DRAW: dict[str, Any] = {"by": "supervisor", "share": SHARE}

PARSED: list[tuple[str, str, dict[str, Any], object]] = [
    ("register by staff, with a key", "register",
     REGISTER | {"actor": "clerk-1", "public_key": PEM},
     Register(bidder_id="b1", plate="101", name="某某置业有限公司", actor="clerk-1",
              public_key=PEM)),
    ("a key of one character", "register", REGISTER | {"public_key": "K"},
     Register(bidder_id="b1", plate="101", name="某某置业有限公司", public_key="K")),
    ("a key of 4096 characters", "register", REGISTER | {"public_key": "K" * 4096},
     Register(bidder_id="b1", plate="101", name="某某置业有限公司", public_key="K" * 4096)),
    ("an actor of 64 characters", "register", REGISTER | {"actor": "a" * 64},
     Register(bidder_id="b1", plate="101", name="某某置业有限公司", actor="a" * 64)),
    ("deposit by a bank", "deposit", DEPOSIT | {"actor": "bank-icbc"},
     Deposit(bidder_id="b1", amount=10_000_000, kind="cash", ref="BANK-0001",
             actor="bank-icbc")),
    ("signed bid", "bid", BID | {"sig": "c2ln"},
     PlaceBid(bidder_id="b1", bid_id="c-1", price=34_880_000, sig="c2ln")),
    ("a signature of one character", "bid", BID | {"sig": "A"},
     PlaceBid(bidder_id="b1", bid_id="c-1", price=34_880_000, sig="A")),
    ("a signature of 200 characters", "bid", BID | {"sig": "A" * 200},
     PlaceBid(bidder_id="b1", bid_id="c-1", price=34_880_000, sig="A" * 200)),
    ("signed continue", "continue", {"bidder_id": "b1", "sig": "c2ln"},
     Continue(bidder_id="b1", sig="c2ln")),
    ("signed accept", "accept", {"bidder_id": "b1", "sig": "c2ln"},
     Accept(bidder_id="b1", sig="c2ln")),
    ("suspend by a host", "suspend", STAFF | {"actor": "host-1"},
     Suspend(by="host", reason="网络故障", actor="host-1")),
    ("resume by a host", "resume", STAFF | {"actor": "host-1"},
     Resume(by="host", reason="网络故障", actor="host-1")),
    ("terminate by a host", "terminate", STAFF | {"actor": "host-1"},
     Terminate(by="host", reason="网络故障", actor="host-1")),
    ("draw by a supervisor", "draw", DRAW | {"actor": "sup-1"},
     Draw(by="supervisor", share=SHARE, actor="sup-1")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "given", "command"), [p[1:] for p in PARSED], ids=[p[0] for p in PARSED]
)
def test_who_a_command_names_is_taken(name: str, given: dict[str, Any], command: object) -> None:
    assert parse(name, given) == command


ID = ("须为 1 到 64 个字符", "must be 1 to 64 characters")
KEY = ("须为 PEM 格式的公钥", "must be a public key in PEM")
SIG = ("须为 base64 签名", "must be a base64 signature")
WITH_ACTOR: list[tuple[str, dict[str, Any]]] = [
    ("register", REGISTER), ("deposit", DEPOSIT), ("suspend", STAFF),
    ("resume", STAFF), ("terminate", STAFF), ("draw", DRAW),
]  # fmt: skip
SIGNED: list[tuple[str, dict[str, Any]]] = [
    ("bid", BID),
    ("continue", {"bidder_id": "b1"}),
    ("accept", {"bidder_id": "b1"}),
]

REFUSED: list[tuple[str, str, dict[str, Any], str, tuple[str, str]]] = [
    *[
        (f"{name}, actor {case}", name, given | {"actor": actor}, "actor", ID)
        for name, given in WITH_ACTOR
        for case, actor in [("empty", ""), ("of 65 characters", "a" * 65), ("a number", 7)]
    ],
    ("register, empty key", "register", REGISTER | {"public_key": ""}, "public_key", KEY),
    ("register, key of 4097", "register", REGISTER | {"public_key": "K" * 4097}, "public_key",
     KEY),
    *[
        (f"{name}, signature {case}", name, given | {"sig": sig}, "sig", SIG)
        for name, given in SIGNED
        for case, sig in [("empty", ""), ("of 201 characters", "A" * 201), ("a number", 7)]
    ],
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "given", "field", "words"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_who_a_command_names_is_refused_naming_its_field(
    name: str, given: dict[str, Any], field: str, words: tuple[str, str]
) -> None:
    with pytest.raises(BadMessage) as raised:
        parse(name, given)
    zh, en = words
    assert raised.value.field == field
    assert raised.value.to_dict() == {
        "code": "BAD_MESSAGE",
        "message": f"{field}: {zh}",
        "field": field,
    }
    assert raised.value.to_dict("en") == {
        "code": "BAD_MESSAGE",
        "message": f"{field}: {en}",
        "field": field,
    }


# ---- in the log, and again in its replay --------------------------------------------------


def staffed() -> Lot:
    """An auction whose staff act by name: registered and paid in by staff, suspended,
    resumed and terminated by host and supervisor, its bids signed."""
    lot = Lot.new(AUCTION)
    lot.do(Register(bidder_id="A", plate="101", name="A公司", actor="clerk-1", public_key=PEM), 0)
    lot.do(Register(bidder_id="B", plate="102", name="B公司"), 0)
    lot.do(Deposit(bidder_id="A", amount=10 * WAN, kind="cash", ref="rA", actor="bank-1"), 0)
    lot.do(Deposit(bidder_id="B", amount=10 * WAN, kind="cash", ref="rB"), 0)
    lot.do(PlaceBid(bidder_id="A", bid_id="a1", price=34 * WAN, sig="sigA"), 1000)
    lot.do(PlaceBid(bidder_id="B", bid_id="b1", price=34 * WAN, sig="sigB"), 2000)  # TOO_LOW
    lot.do(Suspend(by="host", reason="网络故障", actor="host-1"), 3000)
    lot.do(Resume(by="host", reason="恢复", actor="host-1"), 4000)
    lot.do(Resume(by="supervisor", reason="同意", actor="sup-1"), 5000)
    lot.do(Tick(), 60 * MIN + 2000)  # the free time, 2 s on by the suspension: 限时
    lot.do(PlaceBid(bidder_id="B", bid_id="b2", price=34 * WAN + WAN // 2), 60 * MIN + 3000)
    lot.do(Terminate(by="supervisor", reason="违规", actor="sup-1"), 60 * MIN + 4000)
    lot.do(Terminate(by="host", reason="违规", actor="host-1"), 60 * MIN + 5000)
    return lot


def capped_lottery() -> Lot:
    """A lot capped in 限时 whose acceptors' pool the supervisor draws, by name."""
    lot = Lot.new(AUCTION | {"cap": 40 * WAN, "after_cap": "lottery", "free_ends_at": 0})
    lot.enrol("ABC", AUCTION["deposit"])
    lot.do(PlaceBid(bidder_id="A", bid_id="a1", price=40 * WAN, sig="sigA"), 1000)
    lot.do(Accept(bidder_id="B", sig="sigB"), 1500)
    lot.do(Accept(bidder_id="C", sig="sigC"), 1600)
    lot.do(Tick(), 1000 + 300_000)  # the acceptance window closes on a pool
    lot.do(Draw(by="supervisor", share=SHARE, actor="sup-1"), 400_000)
    return lot


def signed_continue() -> Lot:
    lot = Lot.new(LISTING)
    lot.enrol("AB", LISTING["deposit"])
    lot.do(PlaceBid(bidder_id="A", bid_id="a1", price=14 * WAN), 1000)
    lot.do(Tick(), 100 * MIN)  # inquiry
    lot.do(Continue(bidder_id="B", sig="sigB"), 100 * MIN + 1000)
    lot.do(Continue(bidder_id="B", sig="sigB2"), 100 * MIN + 2000)  # ALREADY_SUBMITTED
    return lot


def test_staff_are_named_on_the_entries_their_commands_write() -> None:
    log = [fields(e) for e in staffed().log if e["kind"] != "created"]
    closed = {
        "kind": "closed", "pub": True, "by": "host", "reason": "违规", "outcome": "terminated",
        "price": None, "winner_plate": None, "indicator": None, "reserve": None,
        "reserve_salt": None, "lottery_seed": SECRETS.lottery_seed, "lottery_plates": None,
        "lottery_share": None, "actor": "host-1",
    }  # fmt: skip
    assert log == [
        {"kind": "phase", "pub": True, "phase": "free", "deadline": 60 * MIN},
        {"kind": "registered", "pub": False, "bidder_id": "A", "plate": "101", "name": "A公司",
         "actor": "clerk-1", "public_key": PEM},
        {"kind": "registered", "pub": False, "bidder_id": "B", "plate": "102", "name": "B公司",
         "actor": None},
        {"kind": "deposit", "pub": False, "plate": "101", "amount": 10 * WAN,
         "deposit_kind": "cash", "ref": "rA", "total": 10 * WAN, "qualified": True,
         "actor": "bank-1"},
        {"kind": "deposit", "pub": False, "plate": "102", "amount": 10 * WAN,
         "deposit_kind": "cash", "ref": "rB", "total": 10 * WAN, "qualified": True,
         "actor": None},
        {"kind": "bid", "pub": True, "plate": "101", "bid_id": "a1", "price": 34 * WAN,
         "phase": "free", "deadline": 60 * MIN, "sig": "sigA"},
        {"kind": "refused", "pub": False, "plate": "102", "command": "bid", "code": "TOO_LOW",
         "bid_id": "b1", "price": 34 * WAN, "indicator": None, "sealed": None},
        {"kind": "suspended", "pub": True, "phase": "free", "left": 60 * MIN - 3000,
         "by": "host", "reason": "网络故障", "actor": "host-1"},
        {"kind": "requested", "pub": False, "action": "resume", "by": "host", "reason": "恢复",
         "actor": "host-1"},
        {"kind": "resumed", "pub": True, "phase": "free", "deadline": 60 * MIN + 2000,
         "by": "supervisor", "reason": "同意", "actor": "sup-1"},
        {"kind": "phase", "pub": True, "phase": "limited", "deadline": 65 * MIN + 2000},
        {"kind": "bid", "pub": True, "plate": "102", "bid_id": "b2",
         "price": 34 * WAN + WAN // 2, "phase": "limited", "deadline": 65 * MIN + 3000},
        {"kind": "requested", "pub": False, "action": "terminate", "by": "supervisor",
         "reason": "违规", "actor": "sup-1"},
        closed,
    ]  # fmt: skip


def test_a_bid_in_the_limited_round_does_not_count_as_a_quote() -> None:
    """`quoted` is a listing's free-phase quote (its entry rule): B bid only in 限时."""
    bidders = staffed().state.bidders
    assert (bidders["A"].quoted, bidders["B"].quoted) == (True, False)


def test_signatures_go_on_the_signed_entries_alone() -> None:
    """The capping bid's signature is on the bid, not on the phase it starts; each accept
    carries its own; the draw names the supervisor."""
    log = [fields(e) for e in capped_lottery().log if e["kind"] in ("bid", "phase", "accept")]
    assert log[-4:] == [
        {"kind": "bid", "pub": True, "plate": "101", "bid_id": "a1", "price": 40 * WAN,
         "phase": "limited", "deadline": 301_000, "sig": "sigA"},
        {"kind": "phase", "pub": True, "phase": "capped", "deadline": 301_000},
        {"kind": "accept", "pub": False, "plate": "102", "price": 40 * WAN, "sig": "sigB"},
        {"kind": "accept", "pub": False, "plate": "103", "price": 40 * WAN, "sig": "sigC"},
    ]  # fmt: skip
    closed = capped_lottery().log[-1]
    assert (closed["kind"], closed["lottery_share"], closed["actor"]) == ("closed", SHARE, "sup-1")


def test_a_signed_continue_is_logged_with_it_and_its_refusal_without() -> None:
    log = [fields(e) for e in signed_continue().log[-2:]]
    assert log == [
        {"kind": "continue", "pub": False, "plate": "102", "sig": "sigB"},
        {"kind": "refused", "pub": False, "plate": "102", "command": "continue",
         "code": "ALREADY_SUBMITTED"},
    ]  # fmt: skip


@pytest.mark.parametrize("play", [staffed, capped_lottery, signed_continue])
def test_a_log_naming_staff_and_signatures_replays(play: Any) -> None:
    lot = play()
    revealed = SEED_REVEALED if lot.state.outcome else Secrets(reserve_salt="", lottery_seed="")
    assert replay(lot.log, LOT) == replace(lot.state, secrets=revealed)
