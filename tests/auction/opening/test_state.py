"""An opening's config and commands are built only valid (auction/opening/state.py): each
refusal is a BadMessage naming the field a form points at, with its message in both
languages; each bound is the one the OpenAPI description publishes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import msgpack
import pytest

from auction.errors import BadMessage, NotFound
from auction.log import Tick
from auction.opening.config import OpeningConfig
from auction.opening.state import (
    Advance,
    Confirm,
    Decrypt,
    Fault,
    Object,
    OpeningState,
    Pause,
    RegisterTenderer,
    Reopen,
    Reply,
    SignIn,
    Submit,
    Tenderer,
    parse,
    state_from_map,
    state_to_map,
    tenderer_by_plate,
    tenderer_of,
)

RAW: dict[str, Any] = {"title": "某道路工程施工", "bid_deadline": 1_800_000_000_000,
                       "decrypt_window_s": 600}  # fmt: skip
MAX_WHOLE = 2**53 - 1
DAY_S = 86_400
HEX = "0123456789abcdef" * 4


def refusal(make: Callable[[], object]) -> tuple[str, str, str, str]:
    """What the client is told: code, field, and the message in zh-CN and en."""
    with pytest.raises(BadMessage) as caught:
        make()
    error = caught.value
    return error.code, error.field, error.message_for("zh-CN"), error.message_for("en")


def whole(field: str, low: int, high: int) -> tuple[str, str, str, str]:
    return ("BAD_MESSAGE", field, f"{field}: 须为 {low} 到 {high} 的整数",
            f"{field}: must be an integer {low}..{high}")  # fmt: skip


def text(field: str, limit: int) -> tuple[str, str, str, str]:
    return ("BAD_MESSAGE", field, f"{field}: 须为 1 到 {limit} 个字符的文本",
            f"{field}: must be 1 to {limit} chars")  # fmt: skip


def test_a_config_with_only_the_required_fields_takes_the_defaults() -> None:
    assert OpeningConfig.parse(RAW) == OpeningConfig(
        title="某道路工程施工", bid_deadline=1_800_000_000_000, decrypt_window_s=600,
        min_bidders=3, sign_in_before_s=1800, backup_remedy="withdraw",
    )  # fmt: skip


def test_every_field_given_is_taken() -> None:
    given = RAW | {"min_bidders": 5, "sign_in_before_s": 0, "backup_remedy": "backup",
                   "signatures": "required"}  # fmt: skip
    assert OpeningConfig.parse(given).as_map() == given


ACCEPTED: list[tuple[str, object]] = [
    ("title", "x" * 200),
    ("bid_deadline", 1),
    ("bid_deadline", MAX_WHOLE),
    ("decrypt_window_s", 1),
    ("decrypt_window_s", DAY_S),
    ("min_bidders", 1),
    ("min_bidders", 1000),
    ("sign_in_before_s", 0),
    ("sign_in_before_s", DAY_S),
    ("backup_remedy", "withdraw"),
    ("backup_remedy", "backup"),
    ("signatures", "off"),
    ("signatures", "optional"),
    ("signatures", "required"),
]


@pytest.mark.parametrize(("field", "value"), ACCEPTED)
def test_each_bound_is_inclusive(field: str, value: object) -> None:
    assert getattr(OpeningConfig.parse(RAW | {field: value}), field) == value


SIGNATURES = ("BAD_MESSAGE", "signatures", "signatures: 须为 off、optional 或 required",
              "signatures: must be off, optional or required")  # fmt: skip
CONFIG_REFUSALS: list[tuple[str, object, tuple[str, str, str, str]]] = [
    ("a list", ["title"], ("BAD_MESSAGE", "config", "config: 须为 JSON 对象",
                           "config: must be a JSON object")),
    ("an unknown field", RAW | {"venue": "x"},
     ("BAD_MESSAGE", "venue", "venue: 未知字段", "venue: unknown field")),
    ("two unknown fields: the first by name", RAW | {"zone": 1, "agenda": 2},
     ("BAD_MESSAGE", "agenda", "agenda: 未知字段", "agenda: unknown field")),
    ("no title", {k: v for k, v in RAW.items() if k != "title"},
     ("BAD_MESSAGE", "title", "title: 必填", "title: required")),
    ("no bid deadline", {k: v for k, v in RAW.items() if k != "bid_deadline"},
     ("BAD_MESSAGE", "bid_deadline", "bid_deadline: 必填", "bid_deadline: required")),
    ("no window", {k: v for k, v in RAW.items() if k != "decrypt_window_s"},
     ("BAD_MESSAGE", "decrypt_window_s", "decrypt_window_s: 必填",
      "decrypt_window_s: required")),
    ("a long title", RAW | {"title": "x" * 201}, text("title", 200)),
    ("a blank title", RAW | {"title": "  "}, text("title", 200)),
    ("a title of two lines", RAW | {"title": "第一行\n第二行"},
     ("BAD_MESSAGE", "title", "title: 含有不可见或控制字符",
      "title: holds invisible or control characters")),
    ("a deadline of 0", RAW | {"bid_deadline": 0}, whole("bid_deadline", 1, MAX_WHOLE)),
    ("a deadline past 2**53", RAW | {"bid_deadline": MAX_WHOLE + 1},
     whole("bid_deadline", 1, MAX_WHOLE)),
    ("a deadline as text", RAW | {"bid_deadline": "1800000000000"},
     whole("bid_deadline", 1, MAX_WHOLE)),
    ("a window of 0", RAW | {"decrypt_window_s": 0}, whole("decrypt_window_s", 1, DAY_S)),
    ("a window over a day", RAW | {"decrypt_window_s": DAY_S + 1},
     whole("decrypt_window_s", 1, DAY_S)),
    ("a window of true", RAW | {"decrypt_window_s": True}, whole("decrypt_window_s", 1, DAY_S)),
    ("no bidders", RAW | {"min_bidders": 0}, whole("min_bidders", 1, 1000)),
    ("too many bidders", RAW | {"min_bidders": 1001}, whole("min_bidders", 1, 1000)),
    ("bidders as null", RAW | {"min_bidders": None}, whole("min_bidders", 1, 1000)),
    ("sign-in after the deadline", RAW | {"sign_in_before_s": -1},
     whole("sign_in_before_s", 0, DAY_S)),
    ("sign-in a day and a second early", RAW | {"sign_in_before_s": DAY_S + 1},
     whole("sign_in_before_s", 0, DAY_S)),
    ("sign-in as a float", RAW | {"sign_in_before_s": 60.0}, whole("sign_in_before_s", 0, DAY_S)),
    ("an unknown remedy", RAW | {"backup_remedy": "open"},
     ("BAD_MESSAGE", "backup_remedy", "backup_remedy: 须为 withdraw 或 backup",
      "backup_remedy: must be withdraw or backup")),
    *[(f"signatures {case}", RAW | {"signatures": mode}, SIGNATURES)
      for case, mode in [("upper case", "REQUIRED"), ("unknown", "always"), ("true", True),
                         ("null", None)]],
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "raw", "expected"), CONFIG_REFUSALS, ids=[r[0] for r in CONFIG_REFUSALS]
)
def test_a_config_that_does_not_hold_is_refused_naming_its_field(
    name: str, raw: object, expected: tuple[str, str, str, str]
) -> None:
    assert refusal(lambda: OpeningConfig.parse(raw)) == expected


def test_the_sign_in_opens_before_the_deadline_by_the_configured_seconds() -> None:
    config = OpeningConfig.parse(RAW | {"sign_in_before_s": 900})
    assert config.sign_in_opens_at == RAW["bid_deadline"] - 900_000


def register(**change: object) -> RegisterTenderer:
    fields: dict[str, Any] = {"bidder_id": "b" * 64, "plate": "p" * 64, "name": "n" * 200}
    return RegisterTenderer(**(fields | change))


def submit(**change: object) -> Submit:
    fields: dict[str, Any] = {"bidder_id": "a", "digest": HEX, "commitment": HEX, "size": 1}
    return Submit(**(fields | change))


LINES = "第一行\n\t第二行" + "x" * 1990  # 2000 characters


def test_the_long_texts_take_2000_characters_with_line_breaks_and_tabs() -> None:
    assert Fault(plate="101", note=LINES).note == LINES
    assert Object(bidder_id="a", text=LINES).text == LINES
    assert Reply(objection_id="1" * 64, text=LINES).text == LINES
    assert Reopen(reason=LINES).reason == LINES


def test_the_longest_valid_fields_are_taken() -> None:
    assert register().plate == "p" * 64
    assert submit(size=MAX_WHOLE).size == MAX_WHOLE
    assert Advance(to="ended").to == "ended" and Advance().to is None
    assert Decrypt(bidder_id="a", key="k", reason="BAD_KEY").reason == "BAD_KEY"
    assert Decrypt(bidder_id="a", key="k", bid={"price": 1}).bid == {"price": 1}


Signed = Submit | SignIn | Confirm | Object
SIGNED: list[tuple[str, Callable[..., Signed]]] = [
    ("submit", submit),
    ("sign_in", lambda **sig: SignIn(bidder_id="a", **sig)),
    ("confirm", lambda **sig: Confirm(bidder_id="a", **sig)),
    ("object", lambda **sig: Object(bidder_id="a", text="x", **sig)),
]


@pytest.mark.parametrize(("name", "make"), SIGNED, ids=[s[0] for s in SIGNED])
@pytest.mark.parametrize("sig", ["A", "A" * 200, None])
def test_a_bidder_s_command_takes_a_signature_of_1_to_200_characters(
    name: str, make: Callable[..., Signed], sig: str | None
) -> None:
    assert make(sig=sig).sig == sig


@pytest.mark.parametrize("key", ["K", "K" * 4096, None])
def test_a_registration_takes_a_public_key_of_1_to_4096_characters(key: str | None) -> None:
    assert register(public_key=key).public_key == key


SHA = ("须为 64 位十六进制 SHA-256", "must be a hex SHA-256")
KEY = ("BAD_MESSAGE", "public_key", "public_key: 须为 PEM 格式的公钥",
       "public_key: must be a public key in PEM")  # fmt: skip
SIG = ("BAD_MESSAGE", "sig", "sig: 须为 base64 签名", "sig: must be a base64 signature")
COMMAND_REFUSALS: list[tuple[str, Callable[[], object], tuple[str, str, str, str]]] = [
    ("bidder id too long", lambda: register(bidder_id="b" * 65), text("bidder_id", 64)),
    ("bidder id blank", lambda: register(bidder_id=" "), text("bidder_id", 64)),
    ("bidder id with a line", lambda: register(bidder_id="a\nb"),
     ("BAD_MESSAGE", "bidder_id", "bidder_id: 含有不可见或控制字符",
      "bidder_id: holds invisible or control characters")),
    ("plate too long", lambda: register(plate="p" * 65), text("plate", 64)),
    ("plate with a line", lambda: register(plate="1\n2"),
     ("BAD_MESSAGE", "plate", "plate: 含有不可见或控制字符",
      "plate: holds invisible or control characters")),
    ("name too long", lambda: register(name="n" * 201), text("name", 200)),
    ("an empty public key", lambda: register(public_key=""), KEY),
    ("a public key of 4097 characters", lambda: register(public_key="K" * 4097), KEY),
    *[(f"{name}, signature {case}", lambda make=make, sig=sig: make(sig=sig), SIG)
      for name, make in SIGNED
      for case, sig in [("empty", ""), ("of 201 characters", "A" * 201), ("a number", 7)]],
    ("name with a line", lambda: register(name="甲\n乙"),
     ("BAD_MESSAGE", "name", "name: 含有不可见或控制字符",
      "name: holds invisible or control characters")),
    ("digest short", lambda: submit(digest=HEX[:63]),
     ("BAD_MESSAGE", "digest", f"digest: {SHA[0]}", f"digest: {SHA[1]}")),
    ("digest long", lambda: submit(digest=HEX + "0"),
     ("BAD_MESSAGE", "digest", f"digest: {SHA[0]}", f"digest: {SHA[1]}")),
    ("digest upper case", lambda: submit(digest=HEX.upper()),
     ("BAD_MESSAGE", "digest", f"digest: {SHA[0]}", f"digest: {SHA[1]}")),
    ("digest of X", lambda: submit(digest="X" * 64),
     ("BAD_MESSAGE", "digest", f"digest: {SHA[0]}", f"digest: {SHA[1]}")),
    ("digest not text", lambda: submit(digest=None),
     ("BAD_MESSAGE", "digest", f"digest: {SHA[0]}", f"digest: {SHA[1]}")),
    ("commitment not hex", lambda: submit(commitment="g" * 64),
     ("BAD_MESSAGE", "commitment", f"commitment: {SHA[0]}", f"commitment: {SHA[1]}")),
    ("commitment not text", lambda: submit(commitment=7),
     ("BAD_MESSAGE", "commitment", f"commitment: {SHA[0]}", f"commitment: {SHA[1]}")),
    ("size 0", lambda: submit(size=0), whole("size", 1, MAX_WHOLE)),
    ("size past 2**53", lambda: submit(size=MAX_WHOLE + 1), whole("size", 1, MAX_WHOLE)),
    ("advance to an unknown phase", lambda: Advance(to="closed"),
     ("BAD_MESSAGE", "to", "to: 未知阶段", "to: unknown phase")),
    ("decrypt with neither bid nor reason", lambda: Decrypt(bidder_id="a", key="k"),
     ("BAD_MESSAGE", "key", "key: 须有解密结果或失败原因",
      "key: need a bid or a failure reason")),
    ("decrypt with both", lambda: Decrypt(bidder_id="a", key="k", bid={}, reason="BAD_KEY"),
     ("BAD_MESSAGE", "key", "key: 须有解密结果或失败原因",
      "key: need a bid or a failure reason")),
    ("a blank fault note", lambda: Fault(plate="101", note=" "), text("note", 2000)),
    ("a fault note too long", lambda: Fault(plate="101", note="x" * 2001), text("note", 2000)),
    ("a blank objection", lambda: Object(bidder_id="a", text=""), text("text", 2000)),
    ("an objection too long", lambda: Object(bidder_id="a", text="x" * 2001),
     text("text", 2000)),
    ("a reply to no objection", lambda: Reply(objection_id=" ", text="x"),
     text("objection_id", 64)),
    ("a reply's objection id too long", lambda: Reply(objection_id="1" * 65, text="x"),
     text("objection_id", 64)),
    ("a reply's objection id with a line", lambda: Reply(objection_id="1\n2", text="x"),
     ("BAD_MESSAGE", "objection_id", "objection_id: 含有不可见或控制字符",
      "objection_id: holds invisible or control characters")),
    ("a blank reply", lambda: Reply(objection_id="1", text=" "), text("text", 2000)),
    ("a reply too long", lambda: Reply(objection_id="1", text="x" * 2001), text("text", 2000)),
    ("a blank reopening reason", lambda: Reopen(reason=""), text("reason", 2000)),
    ("a reopening reason too long", lambda: Reopen(reason="x" * 2001), text("reason", 2000)),
    ("an unknown command", lambda: parse("open", {}),
     ("BAD_MESSAGE", "type", "type: 未知的消息类型", "type: unknown message type")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "make", "expected"), COMMAND_REFUSALS, ids=[r[0] for r in COMMAND_REFUSALS]
)
def test_a_command_that_does_not_hold_is_refused_naming_its_field(
    name: str, make: Callable[[], object], expected: tuple[str, str, str, str]
) -> None:
    assert refusal(make) == expected


@pytest.mark.parametrize(
    ("name", "fields", "expected"),
    [
        ("sign_in", {"bidder_id": "a", "extra": 1}, SignIn(bidder_id="a")),
        ("advance", {"to": "read_out"}, Advance(to="read_out")),
        ("advance", {}, Advance()),
        ("pause", {"to": "x"}, Pause()),
        ("tick", {}, Tick()),
        ("submit", {"bidder_id": "a", "digest": HEX, "commitment": HEX, "size": 9},
         Submit(bidder_id="a", digest=HEX, commitment=HEX, size=9)),
    ],
)  # fmt: skip
def test_a_command_is_parsed_from_its_wire_name_and_fields(
    name: str, fields: dict[str, Any], expected: object
) -> None:
    assert parse(name, fields) == expected


def _two() -> OpeningState:
    config = OpeningConfig.parse(RAW)
    tenderers = [Tenderer(bidder_id="a", plate="101", name="甲"),
                 Tenderer(bidder_id="b", plate="102", name="乙")]  # fmt: skip
    return OpeningState(config=config, tenderers={t.bidder_id: t for t in tenderers})


def test_a_tenderer_is_found_by_its_id_or_its_plate() -> None:
    s = _two()
    assert tenderer_of(s, "b") == tenderer_by_plate(s, "102") == s.tenderers["b"]


@pytest.mark.parametrize(
    "find",
    [lambda s: tenderer_of(s, "102"), lambda s: tenderer_by_plate(s, "b")],
    ids=["by id", "by plate"],
)
def test_a_tenderer_not_there_is_not_found(find: Callable[[OpeningState], object]) -> None:
    with pytest.raises(NotFound) as caught:
        find(_two())
    error = caught.value
    assert (error.message_zh, error.message_en) == ("未找到：bidder", "Not found: bidder")


def test_a_stored_state_holds_its_bids_as_plain_maps() -> None:
    s = _two()
    opened = replace(s.tenderers["a"], status="decrypted", bid=MappingProxyType({"price": 7}))
    s = replace(s, tenderers={**s.tenderers, "a": opened})
    stored = state_to_map(s)
    assert stored["tenderers"][0]["bid"] == {"price": 7}
    assert type(stored["tenderers"][0]["bid"]) is dict
    assert state_from_map(msgpack.unpackb(msgpack.packb(stored), raw=False)) == s
