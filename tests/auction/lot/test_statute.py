"""The words of the statute's findings (auction/lot/statute.py): what the host is warned of,
and what refuses a lot under a preset, in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from auction.errors import BadMessage
from auction.lot import statute
from tests.auction.lot.test_presets import LONG_LISTING, _covered, at, parse
from tests.auction.lot.test_rules import L2

WORDS: list[tuple[str, dict[str, Any], statute.Finding]] = [
    ("no deposit on land", {"deposit": 0}, statute.Finding(
        "deposit", "NO_DEPOSIT", "土地出让须设竞买保证金", "a land sale takes a deposit")),
    ("a reserve under the start", {"reserve": 13_800_000}, statute.Finding(
        "reserve", "RESERVE_BELOW_START", "底价低于起始价，不起作用",
        "a reserve under the start price stops nothing")),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "finding"), [w[1:] for w in WORDS], ids=[w[0] for w in WORDS])
def test_a_finding_says_what_is_wrong_in_both_languages(
    changes: dict[str, Any], finding: statute.Finding
) -> None:
    assert statute.findings(parse(LONG_LISTING | changes)) == [finding]
    with pytest.raises(BadMessage) as refused:
        statute.warnings(parse(LONG_LISTING | changes | {"preset": "land"}))
    field = finding.field
    assert refused.value.to_dict() == {
        "code": "BAD_MESSAGE", "message": f"{field}: {finding.message_zh}", "field": field,
    }  # fmt: skip
    assert refused.value.to_dict("en") == {
        "code": "BAD_MESSAGE", "message": f"{field}: {finding.message_en}", "field": field,
    }  # fmt: skip


def test_a_year_the_calendar_does_not_hold_is_noted_in_both_languages() -> None:
    year = max(year for year in range(2025, 2100) if _covered(year)) + 1
    config = parse(L2 | {"opens_at": at(year, 3, 1, 9), "free_ends_at": at(year, 3, 31, 10)})
    assert statute.findings(config) == [
        statute.Finding(
            "free_ends_at",
            "CALENDAR_UNCOVERED",
            "节假日安排尚未收录该年份，仅按周一至周五计算工作日",
            "the holiday calendar does not cover that year yet: Monday to Friday counted",
            refuses=False,
        )
    ]
