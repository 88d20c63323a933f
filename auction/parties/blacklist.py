"""The blacklist (失信名单): who may not take part, by credit code, from when until when.

An entry (`Listing`) names a credit code, the list it comes from (`source`: a court's
失信被执行人名单, a centre's own 黑名单 ...), the first and the last day it holds (`until`
None: until further notice) and why. Days are calendar days in Beijing (auction/china.py):
a party is listed on day D when `from <= D <= until`. An import is all or nothing: `rows`
refuses the first bad row by its number (from 1, the first after a CSV's header).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from auction.checks import check_text
from auction.errors import BadMessage
from auction.parties.credit_code import credit_code

__all__ = ["COLUMNS", "MAX_ROWS", "Listing", "csv_rows", "in_force", "rows"]

COLUMNS = ("credit_code", "source", "from", "until", "reason")
MAX_ROWS = 10_000  # one import; a province's list is imported in parts


@dataclass(frozen=True, slots=True, kw_only=True)
class Listing:
    credit_code: str
    source: str
    start: dt.date  # "from" on the wire
    until: dt.date | None
    reason: str

    def holds_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.until is None or day <= self.until)

    def as_map(self) -> dict[str, Any]:
        return {"credit_code": self.credit_code, **self.cited(), "reason": self.reason}

    def cited(self) -> dict[str, Any]:
        """What a refusal and the audit log say of it: its source and its dates."""
        until = None if self.until is None else self.until.isoformat()
        return {"source": self.source, "from": self.start.isoformat(), "until": until}

    @classmethod
    def parse(cls, raw: object, row: int) -> Listing:
        """One entry from its map; BadMessage naming `rows[row].field` when it does not hold."""
        if not isinstance(raw, dict):
            raise BadMessage(f"rows[{row}]", "须为对象", "must be an object")
        try:
            start, until = _day("from", raw.get("from")), raw.get("until")
            listing = cls(
                credit_code=credit_code(raw.get("credit_code")),
                source=check_text("source", raw.get("source"), 100),
                start=start, until=None if until in (None, "") else _day("until", until),
                reason=check_text("reason", raw.get("reason"), 500, lines=True),
            )  # fmt: skip
        except BadMessage as error:
            raise BadMessage(f"rows[{row}].{error.field}", *_words(error)) from None
        if listing.until is not None and listing.until < listing.start:
            raise BadMessage(f"rows[{row}].until", "不得早于 from", "must not be before from")
        return listing


def rows(raw: object) -> list[Listing]:
    """Every entry of a JSON list, or BadMessage naming the first bad row."""
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_ROWS:
        raise BadMessage("body", f"须为 1 到 {MAX_ROWS} 条的列表", f"must list 1 to {MAX_ROWS}")
    return [Listing.parse(entry, n) for n, entry in enumerate(raw, 1)]


def csv_rows(text: str) -> list[Listing]:
    """Every entry of a CSV text whose header row names the COLUMNS (in any order)."""
    try:
        found = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        raise BadMessage("body", "不是合法的 CSV", "is not valid CSV") from None
    header, *data = [r for r in found if any(cell.strip() for cell in r)] or [[]]
    names = [cell.strip() for cell in header]
    if sorted(names) != sorted(COLUMNS):
        raise BadMessage("header", f"须为 {','.join(COLUMNS)}", f"must be {','.join(COLUMNS)}")
    for n, cells in enumerate(data, 1):
        if len(cells) != len(names):
            raise BadMessage(f"rows[{n}]", "列数与表头不符", "has not the header's columns")
    return rows([dict(zip(names, (c.strip() for c in cells), strict=True)) for cells in data])


def in_force(listings: Iterable[Listing], day: dt.date) -> Listing | None:
    """The entry that lists a party on `day`: of several, the one that holds longest."""
    holding = [entry for entry in listings if entry.holds_on(day)]
    return max(holding, key=lambda e: (e.until or dt.date.max, e.start), default=None)


def _day(name: str, value: object) -> dt.date:
    if not isinstance(value, str) or len(value) != 10:
        raise BadMessage(name, "须为日期 YYYY-MM-DD", "must be a date, YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadMessage(name, "须为日期 YYYY-MM-DD", "must be a date, YYYY-MM-DD") from None


def _words(error: BadMessage) -> Sequence[str]:
    """A field's error again, for its row: its words without the field's name."""
    return [m.split(": ", 1)[-1] for m in (error.message_zh, error.message_en)]
