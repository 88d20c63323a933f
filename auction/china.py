"""China's clock for people: Beijing time (UTC+8; China keeps no summer time), in which the
rules count days, the hall lists a day's lots and the record prints its times."""

from __future__ import annotations

import datetime as dt

__all__ = ["BEIJING", "date_of", "when", "yuan"]

BEIJING = dt.timezone(dt.timedelta(hours=8), "UTC+8")


def date_of(ms: int) -> dt.date:
    """The calendar day in Beijing of a server time in ms."""
    return dt.datetime.fromtimestamp(ms / 1000, BEIJING).date()


def when(ms: int | None) -> str:
    """A server time as a record prints it, Beijing time to the second ("" for none)."""
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def yuan(fen: int | None) -> str:
    """Money in fen as a record prints it: 元 with two decimals, thousands grouped."""
    return "" if fen is None else f"{fen // 100:,}.{fen % 100:02d}"
