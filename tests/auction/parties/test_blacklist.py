"""The blacklist's entries: checked row by row (a bad row is named), from JSON or CSV, and
which of them lists a party on a given day."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from auction.errors import BadMessage
from auction.log import EntryLog
from auction.parties.blacklist import Listing, csv_rows, in_force, rows
from auction.parties.check import CreditCheck, log_check

CODE = "91350100M000100Y43"
ROW = {"credit_code": CODE, "source": "最高人民法院失信被执行人名单", "from": "2026-01-01",
       "until": "2026-06-30", "reason": "拒不履行生效判决"}  # fmt: skip


def test_rows_are_entries() -> None:
    (entry,) = rows([ROW])
    assert entry.start == dt.date(2026, 1, 1) and entry.until == dt.date(2026, 6, 30)
    assert entry.as_map() == ROW
    assert entry.cited() == {"source": ROW["source"], "from": "2026-01-01", "until": "2026-06-30"}
    (open_ended,) = rows([ROW | {"until": None}])
    assert open_ended.until is None and open_ended.holds_on(dt.date(2099, 1, 1))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"credit_code": "91350100M000100Y44"}, "rows[2].credit_code"),
        ({"from": "2026-13-01"}, "rows[2].from"),
        ({"from": "1.1.2026"}, "rows[2].from"),
        ({"until": "2025-12-31"}, "rows[2].until"),  # before from
        ({"source": ""}, "rows[2].source"),
        ({"reason": None}, "rows[2].reason"),
    ],
)
def test_a_bad_row_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(BadMessage) as raised:
        rows([ROW, ROW | change, ROW])
    assert raised.value.field == field


def test_a_list_and_nothing_else() -> None:
    for raw in ({"rows": [ROW]}, [], None, [ROW, "x"]):
        with pytest.raises(BadMessage):
            rows(raw)


def test_csv_with_its_header_in_any_order() -> None:
    text = (
        "source,credit_code,from,until,reason\r\n"
        f"法院,{CODE},2026-01-01,,欠款\r\n"
        '"市中心, 黑名单",1244030045577028X0,2026-02-01,2026-03-01,"串通投标"\r\n'
    )
    first, second = csv_rows(text)
    assert first.until is None and first.source == "法院"
    assert second.source == "市中心, 黑名单" and second.credit_code == "1244030045577028X0"
    with pytest.raises(BadMessage) as raised:
        csv_rows(text + f"法院,{CODE},2026-01-01\r\n")  # a row short of columns
    assert raised.value.field == "rows[3]"
    with pytest.raises(BadMessage) as raised:
        csv_rows(f"code,source,from,until,reason\r\n{CODE},法院,2026-01-01,,欠款\r\n")
    assert raised.value.field == "header"


def test_which_entry_lists_a_party_on_a_day() -> None:
    short = Listing.parse(ROW, 1)
    longer = Listing.parse(ROW | {"source": "中心", "until": None}, 2)
    assert in_force([short], dt.date(2025, 12, 31)) is None
    assert in_force([short], dt.date(2026, 1, 1)) is short  # its first day
    assert in_force([short], dt.date(2026, 6, 30)) is short  # and its last
    assert in_force([short], dt.date(2026, 7, 1)) is None
    assert in_force([short, longer], dt.date(2026, 3, 1)) is longer  # the one that holds longest


def test_a_check_is_logged_for_the_staff_alone() -> None:
    class Empty:
        seq = pseq = ts = 0

    log = EntryLog(Empty())
    listing = Listing.parse(ROW, 1).cited()
    answer = log_check(log, 5, CreditCheck(party="h:ab", at="register", listing=listing))
    (entry,) = log.entries
    assert answer == {"accepted": True, "seq": 1, "listed": True}
    assert entry["pub"] is False and "plate" not in entry  # no audience but the staff's
    assert entry["result"] == "listed" and entry["listing"] == listing
    with pytest.raises(BadMessage):
        CreditCheck(party="h:ab", at="bid")
