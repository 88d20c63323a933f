"""统一社会信用代码 (GB 32100-2015): both check characters, on codes in the real format."""

from __future__ import annotations

import pytest

from auction.errors import BadCreditCode
from auction.parties.credit_code import check_character, credit_code, organisation_check

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # written out again: the test's own reading
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

VALID = [
    "91350100M000100Y43",  # the code GB 32100's explainers cite
    "911100008000007115",  # 工商, 企业, Beijing
    "91310115MA1H7ACN4K",  # 工商, 企业, Shanghai Pudong; a letter for its check
    "1244030045577028X0",  # 机构编制, 事业单位, Shenzhen; the organisation code's check is X
    "91440300MA5EHXLT2C",
    "521000005000124708",  # 民政, 民办非企业单位, the central level
    "93330782MA29LPRK7R",  # 工商, 农民专业合作社, Yiwu
    "Y1320000MB1R6GN26R",  # 其他
]


def by_hand(code: str) -> tuple[str, str]:
    """Both check characters, computed as the standards print them."""
    pairs = zip(code[8:16], (3, 7, 9, 10, 5, 8, 4, 2), strict=True)
    org = 11 - sum(ORG.index(c) * w for c, w in pairs) % 11
    last = 31 - sum(ALPHABET.index(c) * w for c, w in zip(code[:17], WEIGHTS, strict=True)) % 31
    return {10: "X", 11: "0"}.get(org, str(org)), ALPHABET[0 if last == 31 else last]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_pass_both_checks(code: str) -> None:
    assert by_hand(code) == (code[16], code[17])
    assert (organisation_check(code[8:16]), check_character(code[:17])) == by_hand(code)
    assert credit_code(code) == code
    assert credit_code(f"  {code.lower()} ") == code  # as typed: blanks and lower case


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y44", "check character"),  # the last one off by one
        ("91350100M000100Y4O", "never uses"),  # O is not in the alphabet
        ("91310115MA1H7ACN4J", "check character"),
        ("91350100M000100X43", "organisation code"),  # the 17th, and so both, wrong
        ("91350100M000101Y43", "organisation code"),  # a digit of the body changed
        ("1244030045577028Z0", "never uses"),  # Z is not in the alphabet
        ("91I50100M000100Y43", "never uses"),
        ("9135O100M000100Y43", "never uses"),
        ("91350100S000100Y43", "never uses"),
        ("91350100V000100Y43", "never uses"),
        ("91350100M000100Y4", "18 characters"),  # too short
        ("91350100M000100Y433", "18 characters"),  # too long
        ("", "18 characters"),
        ("01350100M000100Y43", "authority"),  # 0 registers nothing
        ("919901008000007115", "region"),  # 99 is no province
        ("91AB0100M000100Y43", "region"),
    ],
)
def test_invalid_codes_say_why(code: str, why: str) -> None:
    with pytest.raises(BadCreditCode) as raised:
        credit_code(code)
    assert why in raised.value.message_en
    assert raised.value.code == "BAD_CREDIT_CODE" and raised.value.field == "credit_code"
    assert raised.value.http_status == 422


def test_a_code_must_be_text() -> None:
    with pytest.raises(BadCreditCode):
        credit_code(913501001)
