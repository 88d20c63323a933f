"""The statutory checks of a lot's config (review R14, RULES §1.2): what the law and the
published rules require of its numbers, as findings naming the field.

A new lot under a preset (auction/lot/presets.py: a published rulebook) is refused on the
first finding; any other is created, and the findings go back to the host as warnings
(`warnings`). They are checked when a lot is created, never when its log is replayed: a
calendar that later learns a year's holidays must not unmake a lot made before.

- L-2: a land listing (挂牌) runs at least 10 days, counted as the lot's `listing_days` says:
  `working_days` (the safe default, RULES L-2: 法定工作日 in Beijing time, with the State
  Council's holidays and adjusted workdays from `chinese-calendar`), `calendar_dates` (the
  dates it touches, first and last included) or `elapsed` (240 hours). The three differ on
  real notices (RULES Fixture L2), which is why the rule is a setting.
- L-12: land is sold against a deposit (保证金): a land lot with none is a finding.
- A reserve (底价) under the start price could never stop a sale: a mistyped figure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auction.china import date_of, workday
from auction.errors import BadMessage

if TYPE_CHECKING:
    from auction.lot.config import LotConfig

__all__ = ["LISTING_DAYS", "Finding", "findings", "listing_days", "warnings"]

LISTING_DAYS = 10


@dataclass(frozen=True, slots=True)
class Finding:
    field: str
    code: str
    message_zh: str
    message_en: str
    refuses: bool = True  # under a preset; a note that a check was approximate does not


def findings(config: LotConfig) -> list[Finding]:
    """Every statutory finding on `config`, in the order a form shows the fields."""
    found = []
    land = config.category == "land"
    if land and config.mode == "listing":
        days, covered = listing_days(config)
        if days < LISTING_DAYS:
            rule = config.listing_days
            found.append(Finding(
                "free_ends_at", "LISTING_TOO_SHORT",
                f"挂牌期须不少于 {LISTING_DAYS} 日（按 {rule} 计为 {days}）",
                f"a land listing must run {LISTING_DAYS} days or more ({days} by {rule})",
            ))  # fmt: skip
        if not covered:
            found.append(Finding(
                "free_ends_at", "CALENDAR_UNCOVERED",
                "节假日安排尚未收录该年份，仅按周一至周五计算工作日",
                "the holiday calendar does not cover that year yet: Monday to Friday counted",
                refuses=False,
            ))  # fmt: skip
    if land and config.deposit == 0:
        found.append(Finding("deposit", "NO_DEPOSIT", "土地出让须设竞买保证金",
                             "a land sale takes a deposit"))  # fmt: skip
    if config.reserve is not None and config.reserve < config.start_price:
        found.append(Finding("reserve", "RESERVE_BELOW_START", "底价低于起始价，不起作用",
                             "a reserve under the start price stops nothing"))  # fmt: skip
    return found


def warnings(config: LotConfig) -> list[Finding]:
    """The findings to warn a new lot's host of; BadMessage naming the field of the first
    that refuses, when the lot follows a preset."""
    found = findings(config)
    refusing = [f for f in found if f.refuses] if config.preset is not None else []
    if refusing:
        raise BadMessage(refusing[0].field, refusing[0].message_zh, refusing[0].message_en)
    return found


def listing_days(config: LotConfig) -> tuple[int, bool]:
    """How long the listing runs (opens_at to free_ends_at) by the lot's counting rule, and
    whether the holiday calendar covered every date counted."""
    if config.listing_days == "elapsed":
        return (config.free_ends_at - config.opens_at) // 86_400_000, True
    first, last = _beijing_date(config.opens_at), _beijing_date(config.free_ends_at)
    if config.listing_days == "calendar_dates":
        return (last - first).days + 1, True
    days, covered = 0, True
    for n in range((last - first).days + 1):
        works, known = workday(first + dt.timedelta(days=n))
        days, covered = days + works, covered and known
    return days, covered


def _beijing_date(ms: int) -> dt.date:
    return date_of(ms)
