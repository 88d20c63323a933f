"""Lot configs: the contract's example parses; each kind of mistake names its field."""

from __future__ import annotations

from typing import Any

import pytest

from auction.errors import BadMessage
from auction.lot.config import LotConfig
from tests.conftest import lot_config

DUTCH = {"mode": "dutch", "dutch_step": 1_000_000, "dutch_tick_s": 60, "dutch_floor": 1000}

BAD: list[tuple[str, dict[str, Any], str]] = [
    ("increment zero", {"increment": 0}, "increment"),
    ("increment negative", {"increment": -5}, "increment"),
    ("cap at start", {"cap": 34_380_000}, "cap"),
    ("cap below start", {"cap": 1}, "cap"),
    ("reserve above cap", {"cap": 40_000_000, "reserve": 41_000_000}, "reserve"),
    ("float price", {"start_price": 343.8}, "start_price"),
    ("boolean price", {"start_price": True}, "start_price"),
    ("string price", {"start_price": "343800"}, "start_price"),
    ("unknown mode", {"mode": "english"}, "mode"),
    ("unknown category", {"category": "cars"}, "category"),
    ("unknown after_cap", {"after_cap": "coin"}, "after_cap"),
    ("unknown field", {"reserve_price": 1}, "reserve_price"),
    ("empty title", {"title": " "}, "title"),
    ("window reversed", {"opens_at": 2000, "free_ends_at": 1000}, "free_ends_at"),
    (
        "listing without a window",
        {"mode": "listing", "opens_at": 5, "free_ends_at": 5},
        "free_ends_at",
    ),
    (
        "listing without inquiry",
        {"mode": "listing", "free_ends_at": 9, "inquiry_s": 0},
        "inquiry_s",
    ),
    ("auction without countdown", {"countdown_s": 0}, "countdown_s"),
    ("sealed with a cap", {"mode": "sealed", "free_ends_at": 9, "cap": 40_000_000}, "cap"),
    ("dutch without a step", DUTCH | {"dutch_step": 0}, "dutch_step"),
    ("dutch without a tick", DUTCH | {"dutch_tick_s": 0}, "dutch_tick_s"),
    ("dutch floor above start", DUTCH | {"dutch_floor": 34_380_000}, "dutch_floor"),
    ("dutch with a reserve", DUTCH | {"reserve": 2000}, "reserve"),
    ("dutch step off the grid", DUTCH | {"dutch_step": 1_000_037}, "dutch_step"),
    ("negative deposit", {"deposit": -1}, "deposit"),
    ("registration after 限时 begins", {"free_ends_at": 9, "apply_ends_at": 10}, "apply_ends_at"),
    ("deposits after 限时 begins", {"free_ends_at": 9, "deposit_ends_at": 10}, "deposit_ends_at"),
    ("no time after the cap", {"cap": 40_000_000, "after_cap_s": 0}, "after_cap_s"),
    ("particulars not an object", {"particulars": ["面积"]}, "particulars"),
    ("particulars with a bidi mark", {"particulars": {"用途": "工业\u202e"}}, "particulars"),
    ("particulars with an empty label", {"particulars": {" ": "工业"}}, "particulars"),
    ("particulars past 20", {"particulars": {str(i): "x" for i in range(21)}}, "particulars"),
    ("listing days counted in weeks", {"listing_days": "weeks"}, "listing_days"),
    ("a preset that is not text", {"preset": ["shantou"]}, "preset"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_names_its_field(case: str, change: dict[str, Any], field: str) -> None:
    with pytest.raises(BadMessage) as caught:
        LotConfig.parse(lot_config(**change))
    assert caught.value.field == field
    assert caught.value.to_dict("en")["code"] == "BAD_MESSAGE"


@pytest.mark.parametrize("missing", ["title", "mode", "start_price", "increment"])
def test_missing_required_field(missing: str) -> None:
    raw = lot_config()
    del raw[missing]
    with pytest.raises(BadMessage) as caught:
        LotConfig.parse(raw)
    assert caught.value.field == missing


def test_not_an_object() -> None:
    with pytest.raises(BadMessage):
        LotConfig.parse([1, 2])


def test_contract_example_parses_and_hides_the_reserve() -> None:
    example = {
        "title": "...", "category": "land", "mode": "listing", "quote_unit": "万元",
        "start_price": 343800000, "increment": 5000000, "reserve": 350000000, "cap": None,
        "after_cap": "lottery", "deposit": 100000000, "opens_at": 0, "free_ends_at": 1,
        "countdown_s": 300, "inquiry_s": 180, "dutch_step": 0, "dutch_tick_s": 0,
        "dutch_floor": 0,
    }  # fmt: skip
    config = LotConfig.parse(example)
    assert config.reserve == 350000000 and "reserve" not in config.public()
    assert LotConfig.parse(lot_config(**DUTCH)).mode == "dutch"


WORDS: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("dutch step off the grid", DUTCH | {"dutch_step": 1_000_037}, "dutch_step",
     "须为增价幅度的整数倍", "must be a multiple of increment"),
    ("dutch without a floor", DUTCH | {"dutch_floor": 0}, "dutch_floor",
     "须不小于 1", "must be at least 1"),
    ("dutch floor at the start", DUTCH | {"dutch_floor": 34_380_000}, "dutch_floor",
     "须低于起始价", "must be below start_price"),
    ("dutch with a reserve", DUTCH | {"reserve": 2000}, "reserve",
     "荷兰式以 dutch_floor 为底", "dutch lots use dutch_floor"),
    ("dutch with a cap", DUTCH | {"cap": 40_000_000}, "cap",
     "此方式不设最高限价", "a dutch lot has no cap"),
    ("sealed with a cap", {"mode": "sealed", "free_ends_at": 9, "cap": 40_000_000}, "cap",
     "此方式不设最高限价", "a sealed lot has no cap"),
    ("sealed without a window", {"mode": "sealed", "opens_at": 5, "free_ends_at": 5},
     "free_ends_at", "须晚于 opens_at", "must be after opens_at"),
    ("listing without a countdown", {"mode": "listing", "free_ends_at": 9, "countdown_s": 0},
     "countdown_s", "须不小于 1", "must be at least 1"),
    ("particulars past 20", {"particulars": {str(i): "x" for i in range(21)}}, "particulars",
     "须为至多 20 项的对象", "must be an object of at most 20 items"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field", "zh", "en"), [w[1:] for w in WORDS], ids=[w[0] for w in WORDS]
)
def test_a_bad_config_says_what_is_wrong_in_both_languages(
    change: dict[str, Any], field: str, zh: str, en: str
) -> None:
    with pytest.raises(BadMessage) as caught:
        LotConfig.parse(lot_config(**change))
    assert caught.value.to_dict() == {"code": "BAD_MESSAGE", "message": f"{field}: {zh}",
                                      "field": field}  # fmt: skip
    assert caught.value.to_dict("en") == {"code": "BAD_MESSAGE", "message": f"{field}: {en}",
                                          "field": field}  # fmt: skip


@pytest.mark.parametrize(
    ("particulars", "ok"),
    [
        ({f"项目{i}": f"值{i}" for i in range(20)}, True),  # twenty: the most there may be
        ({"宗" * 40: "工业用地"}, True),  # a label of 40 characters
        ({"宗" * 41: "工业用地"}, False),
        ({"用途": "工" * 200}, True),
        ({"用途": "工" * 201}, False),
    ],
    ids=["twenty items", "a label at its limit", "a label past it", "a text at its limit",
         "a text past it"],
)  # fmt: skip
def test_particulars_are_kept_as_given_up_to_their_limits(
    particulars: dict[str, str], ok: bool
) -> None:
    raw = lot_config(particulars=particulars)
    if ok:
        assert LotConfig.parse(raw).particulars == particulars
    else:
        with pytest.raises(BadMessage) as caught:
            LotConfig.parse(raw)
        assert caught.value.field == "particulars"


def test_a_stored_config_is_rebuilt_whatever_else_the_book_stored_with_it() -> None:
    config = LotConfig.parse(lot_config())
    stored = {name: getattr(config, name) for name in LotConfig.__dataclass_fields__}
    assert LotConfig.stored(stored | {"created_at": 1, "lot_id": "L1"}) == config
