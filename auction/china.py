"""China's clock for people: Beijing time (UTC+8; China keeps no summer time), in which the
rules count days, the hall lists a day's lots and the record prints its times."""

from __future__ import annotations

import datetime as dt

import chinese_calendar  # type: ignore[import-untyped]

__all__ = ["BEIJING", "after_workdays", "date_of", "when", "workday", "yuan"]

BEIJING = dt.timezone(dt.timedelta(hours=8), "UTC+8")


def date_of(ms: int) -> dt.date:
    """The calendar day in Beijing of a server time in ms."""
    return dt.datetime.fromtimestamp(ms / 1000, BEIJING).date()


def workday(day: dt.date) -> tuple[bool, bool]:
    """Whether `day` is a 法定工作日 (the State Council's holidays and adjusted workdays, as
    `chinese-calendar` keeps them), and whether the calendar knows its year: a year not yet
    published counts Monday to Friday, and says so."""
    try:
        return bool(chinese_calendar.is_workday(day)), True
    except NotImplementedError:
        return day.weekday() < 5, False


def after_workdays(day: dt.date, count: int) -> tuple[dt.date, bool]:
    """The `count`th working day after `day` (the day itself not counted), and whether
    the calendar knew every day it counted."""
    covered = True
    while count > 0:
        day += dt.timedelta(days=1)
        works, known = workday(day)
        count, covered = count - works, covered and known
    return day, covered


def when(ms: int | None) -> str:
    """A server time as a record prints it, Beijing time to the second ("" for none)."""
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def yuan(fen: int | None) -> str:
    """Money in fen as a record prints it: 元 with two decimals, thousands grouped."""
    return "" if fen is None else f"{fen // 100:,}.{fen % 100:02d}"
