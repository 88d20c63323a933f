"""Presets for the published rulebooks (RULES §1.5, T1) and the statute's checks (R14).

Each preset row states what RULES.md says its rulebook fixes; the statute rows use the real
listing of Fixture L2, whose ten calendar dates hold only seven working days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from auction.errors import BadMessage
from auction.log import Tick
from auction.lot import rules, statute
from auction.lot.config import LotConfig
from tests.auction.lot.test_rules import L1, L2, SECRETS

MIN = 60_000
BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Milliseconds of a Beijing wall-clock time."""
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=BEIJING).timestamp() * 1000)


# Fixture L2's listing: 2025-04-01 09:00 to 2025-04-10 10:00, over the Qingming holiday; its
# timings are assumed in RULES, so the presets' rows leave them out
L2_LISTING = L2 | {"opens_at": at(2025, 4, 1, 9), "free_ends_at": at(2025, 4, 10, 10)}
# a land listing of 15 working days (2025-03-03 to 2025-03-21: three plain weeks)
LONG_LISTING = {k: v for k, v in L2.items() if k not in ("inquiry_s", "countdown_s")} | {
    "opens_at": at(2025, 3, 3, 9), "free_ends_at": at(2025, 3, 21, 10),
}  # fmt: skip
QINZHOU_OPENS = at(2025, 3, 3, 9)

PRESET_ROWS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # Shantou [S7]: only who quoted continues (第19条), 5 min to say so (第23条), 5 min 限时
    "shantou": (LONG_LISTING, {"entry_rule": "quoted", "inquiry_s": 300, "countdown_s": 300}),
    # "3/3" listings [S33]: 3 minutes to continue, a 3-minute countdown
    "three_three": (LONG_LISTING, {"inquiry_s": 180, "countdown_s": 180}),
    # gtmap [S11]: countDownSec 240, two confirmations, 4 minutes per after-cap step
    "gtmap": (LONG_LISTING, {"countdown_s": 240, "min_continued": 2, "after_cap_s": 240}),
    # Qinzhou [S6]: one hour of free bidding, then 5-minute rounds
    "qinzhou": (
        L1 | {"opens_at": QINZHOU_OPENS, "free_ends_at": None},
        {"countdown_s": 300, "free_ends_at": QINZHOU_OPENS + 60 * MIN},
    ),
    # Chongqing [S47]: a 4-minute countdown
    "chongqing": (LONG_LISTING, {"countdown_s": 240}),
    "land": (LONG_LISTING, {"countdown_s": 300, "inquiry_s": 180}),  # the defaults stand
}


def parse(raw: dict[str, Any]) -> LotConfig:
    return LotConfig.parse({k: v for k, v in raw.items() if v is not None})


@pytest.mark.parametrize("name", PRESET_ROWS)
def test_a_preset_fills_what_its_rulebook_fixes(name: str) -> None:
    base, fixed = PRESET_ROWS[name]
    config = parse(base | {"preset": name})
    assert {key: getattr(config, key) for key in fixed} == fixed
    assert config.preset == name


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("shantou", "entry_rule", "any_qualified"),
        ("shantou", "countdown_s", 240),
        ("three_three", "inquiry_s", 300),
        ("gtmap", "min_continued", 1),
        ("qinzhou", "free_ends_at", QINZHOU_OPENS + 30 * MIN),
        ("chongqing", "countdown_s", 300),
    ],
)
def test_a_field_set_against_the_preset_is_refused_by_name(
    name: str, field: str, value: Any
) -> None:
    base, _ = PRESET_ROWS[name]
    with pytest.raises(BadMessage) as refused:
        parse(base | {"preset": name, field: value})
    assert refused.value.field == field


def test_a_preset_on_a_config_without_a_category_names_the_missing_field() -> None:
    raw = {k: v for k, v in LONG_LISTING.items() if k != "category"}
    with pytest.raises(BadMessage) as refused:
        parse(raw | {"preset": "shantou"})
    assert refused.value.field == "category"


@pytest.mark.parametrize(
    "changes",
    [
        {"preset": "atlantis"},
        {"preset": "shantou", "category": "property"},  # presets are land rulebooks
        {"preset": "shantou", "mode": "auction"},  # a listing rulebook
        {"preset": "qinzhou"},  # an auction rulebook, on a listing
        {"preset": 7},
    ],
)
def test_a_preset_that_does_not_apply_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(BadMessage) as refused:
        parse(LONG_LISTING | changes)
    assert refused.value.field == "preset"


@pytest.mark.parametrize(
    ("rule", "days"), [("working_days", 7), ("calendar_dates", 10), ("elapsed", 9)]
)
def test_fixture_l2s_listing_counts_by_the_lots_rule(rule: str, days: int) -> None:
    """RULES Fixture L2: ten dates, nine days and an hour, seven working days."""
    config = parse(L2_LISTING | {"listing_days": rule})
    assert statute.listing_days(config) == (days, True)
    found = statute.findings(config)
    assert [f.code for f in found] == ([] if days >= 10 else ["LISTING_TOO_SHORT"])
    for finding in found:  # the host is told the count and the rule it was made by
        assert finding.field == "free_ends_at"
        assert f"{rule} 计为 {days}" in finding.message_zh
        assert f"({days} by {rule})" in finding.message_en
    # the config itself holds under a preset (a stored lot always replays); a new lot is
    # refused at its creation
    under_preset = parse(L2_LISTING | {"listing_days": rule, "preset": "land"})
    if days < 10:
        with pytest.raises(BadMessage) as refused:
            statute.warnings(under_preset)
        assert refused.value.field == "free_ends_at"
    else:
        assert statute.warnings(under_preset) == []


@pytest.mark.parametrize(
    ("rule", "ends", "days"),
    [("calendar_dates", (2025, 3, 13, 10), 11), ("elapsed", (2025, 3, 13, 7, 30), 10)],
)
def test_dates_are_beijings_and_ten_full_days_are_ten(
    rule: str, ends: tuple[int, ...], days: int
) -> None:
    """07:30 in Beijing is the day before in UTC: the dates counted are Beijing's."""
    config = parse(L2 | {"listing_days": rule, "opens_at": at(2025, 3, 3, 7, 30),
                         "free_ends_at": at(*ends)})  # fmt: skip
    assert statute.listing_days(config) == (days, True)


def test_an_adjusted_workday_counts_and_a_weekday_holiday_does_not() -> None:
    """2025-09-28 (a Sunday) was worked for the National Day holiday; 10-01..08 were not."""
    config = parse(L2 | {"opens_at": at(2025, 9, 28, 9), "free_ends_at": at(2025, 10, 9, 10)})
    # 9-28 (adjusted), 9-29, 9-30, 10-9; 10-11 (Saturday) is after the close
    assert statute.listing_days(config) == (4, True)


def test_a_year_the_calendar_does_not_hold_counts_weekdays_and_says_so() -> None:
    covered_until = max(year for year in range(2025, 2100) if _covered(year))
    year = covered_until + 1
    config = parse(L2 | {"opens_at": at(year, 3, 1, 9), "free_ends_at": at(year, 3, 31, 10)})
    days, covered = statute.listing_days(config)
    weekdays = sum(dt.date(year, 3, d).weekday() < 5 for d in range(1, 32))
    assert (days, covered) == (weekdays, False)
    found = {(f.field, f.code): f.refuses for f in statute.findings(config)}
    assert found == {("free_ends_at", "CALENDAR_UNCOVERED"): False}
    under_preset = parse(config_raw(config) | {"preset": "land"})
    assert [f.code for f in statute.warnings(under_preset)] == ["CALENDAR_UNCOVERED"]  # a note


def _covered(year: int) -> bool:
    try:
        import chinese_calendar  # type: ignore[import-untyped]

        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def config_raw(config: LotConfig) -> dict[str, Any]:
    return {k: v for k, v in config.public().items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"deposit": 0}, "deposit", "NO_DEPOSIT"),
        ({"reserve": 14 * 1_000_000 - 200_000}, "reserve", "RESERVE_BELOW_START"),
    ],
)
def test_the_statute_warns_and_under_a_preset_refuses(
    changes: dict[str, Any], field: str, code: str
) -> None:
    config = parse(LONG_LISTING | changes)
    found = statute.findings(config)
    assert [(f.field, f.code) for f in found] == [(field, code)]
    assert found[0].message_en.isascii() and not found[0].message_zh.isascii()  # both said
    assert statute.warnings(config) == found  # without a preset: warned of, not refused
    with pytest.raises(BadMessage) as refused:
        statute.warnings(parse(LONG_LISTING | changes | {"preset": "shantou"}))
    assert refused.value.field == field


def test_a_reserve_at_the_start_and_a_deposit_off_land_are_no_finding() -> None:
    assert statute.findings(parse(LONG_LISTING | {"reserve": 14 * 1_000_000})) == []
    other = LONG_LISTING | {"category": "property", "deposit": 0, "free_ends_at": at(2025, 3, 4)}
    assert statute.findings(parse(other)) == []


def test_a_qinzhou_lot_bids_freely_for_an_hour_then_in_five_minute_rounds() -> None:
    config = parse(PRESET_ROWS["qinzhou"][0] | {"preset": "qinzhou"})
    state = rules.create(config, SECRETS, QINZHOU_OPENS - MIN).state
    opened = rules.step(state, Tick(), QINZHOU_OPENS)
    assert (opened.state.phase, opened.state.deadline) == ("free", QINZHOU_OPENS + 60 * MIN)
    limited = rules.step(opened.state, Tick(), QINZHOU_OPENS + 60 * MIN)
    assert limited.state.phase == "limited"
    assert limited.state.deadline == QINZHOU_OPENS + 65 * MIN
