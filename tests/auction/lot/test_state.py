"""A lot's commands as they arrive on the wire (auction/lot/state.py): `parse` builds only
valid ones, and each kind of mistake is refused naming its field, in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from auction.errors import BadMessage
from auction.log import Tick
from auction.lot.config import LotConfig
from auction.lot.state import (
    Accept,
    Continue,
    Deposit,
    Draw,
    LotPhase,
    LotState,
    PlaceBid,
    Register,
    Resume,
    Secrets,
    Suspend,
    Terminate,
    parse,
)
from tests.conftest import lot_config

SHARE = "0123456789abcdef" * 4
REGISTER = {"bidder_id": "b1", "plate": "101", "name": "某某置业有限公司"}
DEPOSIT = {"bidder_id": "b1", "amount": 10_000_000, "kind": "cash", "ref": "BANK-0001"}
BID = {"bidder_id": "b1", "bid_id": "c-1", "price": 34_880_000}

PARSED: list[tuple[str, str, dict[str, Any], object]] = [
    (
        "register",
        "register",
        REGISTER | {"type": "register", "extra": 1},
        Register(bidder_id="b1", plate="101", name="某某置业有限公司"),
    ),
    (
        "register at the limits",
        "register",
        {"bidder_id": "b" * 64, "plate": "p", "name": "名" * 200},
        Register(bidder_id="b" * 64, plate="p", name="名" * 200),
    ),
    (
        "cash deposit",
        "deposit",
        DEPOSIT,
        Deposit(bidder_id="b1", amount=10_000_000, kind="cash", ref="BANK-0001"),
    ),
    (
        "guarantee of the largest amount",
        "deposit",
        DEPOSIT | {"kind": "guarantee", "amount": 2**53 - 1},
        Deposit(bidder_id="b1", amount=2**53 - 1, kind="guarantee", ref="BANK-0001"),
    ),
    (
        "deposit of one fen",
        "deposit",
        DEPOSIT | {"amount": 1},
        Deposit(bidder_id="b1", amount=1, kind="cash", ref="BANK-0001"),
    ),
    ("price bid", "bid", BID, PlaceBid(bidder_id="b1", bid_id="c-1", price=34_880_000)),
    (
        "indicator bid",
        "bid",
        {"bidder_id": "b1", "bid_id": "c-2", "indicator": 3},
        PlaceBid(bidder_id="b1", bid_id="c-2", indicator=3),
    ),
    (
        "sealed bid of 256 characters",
        "bid",
        {"bidder_id": "b1", "bid_id": "c-3", "sealed": "A" * 256},
        PlaceBid(bidder_id="b1", bid_id="c-3", sealed="A" * 256),
    ),
    ("continue", "continue", {"bidder_id": "b1"}, Continue(bidder_id="b1")),
    ("accept", "accept", {"bidder_id": "b1"}, Accept(bidder_id="b1")),
    ("tick", "tick", {}, Tick()),
    (
        "tick with opened bids",
        "tick",
        {"opened": {"b1": 5}, "key": "ab"},
        Tick(opened={"b1": 5}, key="ab"),
    ),
    (
        "suspend with a reason of lines",
        "suspend",
        {"by": "host", "reason": "网络故障\n\t待恢复"},
        Suspend(by="host", reason="网络故障\n\t待恢复"),
    ),
    (
        "resume with the longest reason",
        "resume",
        {"by": "supervisor", "reason": "因" * 500},
        Resume(by="supervisor", reason="因" * 500),
    ),
    (
        "terminate",
        "terminate",
        {"by": "host", "reason": "终止"},
        Terminate(by="host", reason="终止"),
    ),
    ("draw", "draw", {"by": "supervisor", "share": SHARE}, Draw(by="supervisor", share=SHARE)),
]


@pytest.mark.parametrize(
    ("name", "fields", "command"), [p[1:] for p in PARSED], ids=[p[0] for p in PARSED]
)
def test_parse_builds_the_command(name: str, fields: dict[str, Any], command: object) -> None:
    assert parse(name, fields) == command


ID = ("须为 1 到 64 个字符", "must be 1 to 64 characters")
INT = ("须为正整数", "must be a positive integer")
ONE_PRICE = ("须给出 price 或 indicator 之一", "give price or indicator")
SEALED = ("须为密封报价", "must be a sealed bid")
STAFF = ("须为 host 或 supervisor", "must be host or supervisor")
REASON = ("须为 1 到 500 个字符的文本", "must be 1 to 500 chars")
NAME = ("须为 1 到 200 个字符的文本", "must be 1 to 200 chars")
INVISIBLE = ("含有不可见或控制字符", "holds invisible or control characters")

REFUSED: list[tuple[str, str, dict[str, Any], str, tuple[str, str]]] = [
    ("unknown type", "bidx", BID, "type", ("未知的消息类型", "unknown message type")),
    ("register without bidder_id", "register", REGISTER | {"bidder_id": None}, "bidder_id", ID),
    ("register, empty bidder_id", "register", REGISTER | {"bidder_id": ""}, "bidder_id", ID),
    ("register, long bidder_id", "register", REGISTER | {"bidder_id": "b" * 65}, "bidder_id", ID),
    ("register, numeric bidder_id", "register", REGISTER | {"bidder_id": 7}, "bidder_id", ID),
    ("register, empty plate", "register", REGISTER | {"plate": ""}, "plate", ID),
    ("register, long plate", "register", REGISTER | {"plate": "1" * 65}, "plate", ID),
    ("register, blank name", "register", REGISTER | {"name": "  "}, "name", NAME),
    ("register, long name", "register", REGISTER | {"name": "名" * 201}, "name", NAME),
    (
        "register, name of two lines",
        "register",
        REGISTER | {"name": "某某\n公司"},
        "name",
        INVISIBLE,
    ),
    ("deposit, no bidder_id", "deposit", DEPOSIT | {"bidder_id": ""}, "bidder_id", ID),
    ("deposit of nothing", "deposit", DEPOSIT | {"amount": 0}, "amount", INT),
    ("deposit below nothing", "deposit", DEPOSIT | {"amount": -1}, "amount", INT),
    ("deposit of 2**53", "deposit", DEPOSIT | {"amount": 2**53}, "amount", INT),
    ("deposit of true", "deposit", DEPOSIT | {"amount": True}, "amount", INT),
    ("deposit as text", "deposit", DEPOSIT | {"amount": "10000000"}, "amount", INT),
    ("deposit as a float", "deposit", DEPOSIT | {"amount": 1.5}, "amount", INT),
    (
        "deposit without amount",
        "deposit",
        {"bidder_id": "b1", "kind": "cash", "ref": "r"},
        "amount",
        INT,
    ),
    (
        "deposit of another kind",
        "deposit",
        DEPOSIT | {"kind": "wire"},
        "kind",
        ("须为 cash 或 guarantee", "must be cash or guarantee"),
    ),
    ("deposit, empty ref", "deposit", DEPOSIT | {"ref": ""}, "ref", ID),
    ("deposit, long ref", "deposit", DEPOSIT | {"ref": "r" * 65}, "ref", ID),
    ("bid, empty bidder_id", "bid", BID | {"bidder_id": ""}, "bidder_id", ID),
    ("bid, empty bid_id", "bid", BID | {"bid_id": ""}, "bid_id", ID),
    ("bid, long bid_id", "bid", BID | {"bid_id": "c" * 65}, "bid_id", ID),
    ("bid of no price", "bid", {"bidder_id": "b1", "bid_id": "c-1"}, "price", ONE_PRICE),
    ("bid of price and indicator", "bid", BID | {"indicator": 2}, "price", ONE_PRICE),
    ("bid of price and sealed", "bid", BID | {"sealed": "QUJD"}, "price", ONE_PRICE),
    ("bid of price zero", "bid", BID | {"price": 0}, "price", INT),
    ("bid of price true", "bid", BID | {"price": True}, "price", INT),
    ("bid of price 2**53", "bid", BID | {"price": 2**53}, "price", INT),
    ("indicator zero", "bid", {"bidder_id": "b", "bid_id": "c", "indicator": 0}, "indicator", INT),
    (
        "indicator text",
        "bid",
        {"bidder_id": "b", "bid_id": "c", "indicator": "3"},
        "indicator",
        INT,
    ),
    ("sealed empty", "bid", {"bidder_id": "b", "bid_id": "c", "sealed": ""}, "sealed", SEALED),
    ("sealed 257", "bid", {"bidder_id": "b", "bid_id": "c", "sealed": "A" * 257}, "sealed", SEALED),
    ("suspend by a bidder", "suspend", {"by": "bidder", "reason": "x"}, "by", STAFF),
    ("resume by admin", "resume", {"by": "admin", "reason": "x"}, "by", STAFF),
    ("terminate by nobody", "terminate", {"reason": "x"}, "by", STAFF),
    ("suspend without reason", "suspend", {"by": "host"}, "reason", REASON),
    ("suspend, blank reason", "suspend", {"by": "host", "reason": " \n"}, "reason", REASON),
    ("resume, long reason", "resume", {"by": "host", "reason": "因" * 501}, "reason", REASON),
    (
        "terminate, bidi reason",
        "terminate",
        {"by": "host", "reason": "a\u202eb"},
        "reason",
        INVISIBLE,
    ),
    (
        "draw by the host",
        "draw",
        {"by": "host", "share": SHARE},
        "by",
        ("须为 supervisor", "must be supervisor"),
    ),
    *[
        (
            f"draw, share {case}",
            "draw",
            {"by": "supervisor", "share": share},
            "share",
            ("须为 64 位小写十六进制数", "must be 64 lowercase hex digits"),
        )
        for case, share in [
            ("in upper case", SHARE.upper()),
            ("of 63 digits", SHARE[:63]),
            ("of 65 digits", SHARE + "0"),
            ("not hex", "g" * 64),
            ("not text", 7),
            ("missing", None),
        ]
    ],
]


@pytest.mark.parametrize(
    ("name", "fields", "field", "words"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_parse_refuses_naming_the_field(
    name: str, fields: dict[str, Any], field: str, words: tuple[str, str]
) -> None:
    with pytest.raises(BadMessage) as raised:
        parse(name, fields)
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


def _state(held: tuple[LotPhase, int | None, int] | None) -> LotState:
    config = LotConfig.parse(lot_config())
    secrets = Secrets(reserve_salt="00" * 16, lottery_seed="11" * 16)
    return LotState(config=config, secrets=secrets, held=held)


WINDOWS: list[tuple[str, tuple[LotPhase, int | None, int] | None, int, bool]] = [
    ("before the deadline", None, 999, True),
    ("at the deadline's own moment", None, 1_000, True),
    ("past it", None, 1_001, False),
    ("past it, suspended before it", (LotPhase.FREE, 5_000, 900), 9_000, True),
    ("past it, suspended at its moment", (LotPhase.FREE, 5_000, 1_000), 9_000, True),
    ("past it, suspended after it", (LotPhase.FREE, 5_000, 1_001), 9_000, False),
]


@pytest.mark.parametrize(
    ("held", "now", "open_"), [w[1:] for w in WINDOWS], ids=[w[0] for w in WINDOWS]
)
def test_a_deadline_window(
    held: tuple[LotPhase, int | None, int] | None, now: int, open_: bool
) -> None:
    assert _state(held).window_open(1_000, now) is open_
