"""统一社会信用代码 (GB 32100-2015): 18 characters that say who registered an organisation,
where, its organisation code (GB 11714, itself check-charactered) and a check character.

Layout::

    1      registration authority (1 机构编制, 5 民政, 9 工商, Y 其他; and the later
           authorities 2-4, 6-8, A, N)
    2      the kind of organisation under that authority (any character of the alphabet)
    3-8    the administrative region (GB/T 2260): six digits, a province's two first
    9-17   the organisation code: eight characters and its own check character
           (weights 3,7,9,10,5,8,4,2; C = 11 - Σ mod 11, 10 -> X, 11 -> 0)
    18     the check character over 1-17 (weights 3^(i-1) mod 31; C = 31 - Σ mod 31,
           31 -> 0)

The alphabet is 0-9 and A-Z without I, O, S, V, Z (31 characters, valued 0-30 in that
order). The organisation code's characters are valued as GB 11714 does (A = 10 ... Z = 35).
"""

from __future__ import annotations

import string

from auction.errors import BadCreditCode

__all__ = ["ALPHABET", "check_character", "credit_code", "organisation_check"]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
AUTHORITIES = "123456789ANY"
PROVINCES = frozenset(
    [
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)  # "10": the central level (100000)
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, ...
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_VALUES = string.digits + string.ascii_uppercase  # GB 11714: A = 10 ... Z = 35


def check_character(first17: str) -> str:
    """The 18th character for the first 17 (all of them from ALPHABET)."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def organisation_check(body: str) -> str:
    """The check character of a GB 11714 organisation code's eight characters."""
    total = sum(ORG_VALUES.index(c) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def credit_code(value: object) -> str:
    """`value` as a valid credit code (surrounding blanks dropped, letters upper-cased),
    or BadCreditCode saying which rule it breaks."""
    if not isinstance(value, str):
        raise BadCreditCode("须为 18 位文本", "must be text of 18 characters")
    code = value.strip().upper()
    if len(code) != 18:
        raise BadCreditCode("须为 18 位", "must be 18 characters long")
    if any(c not in ALPHABET for c in code):
        raise BadCreditCode("含有不允许的字符（如 I、O、S、V、Z）",
                            "holds a letter the code never uses (I, O, S, V, Z...)")  # fmt: skip
    if code[0] not in AUTHORITIES:
        raise BadCreditCode("登记管理部门代码无效", "unknown registration authority")
    if not code[2:8].isdigit() or code[2:4] not in PROVINCES:
        raise BadCreditCode("行政区划码无效", "the region code is not a region's")
    if organisation_check(code[8:16]) != code[16]:
        raise BadCreditCode("组织机构代码校验码错误", "the organisation code's check fails")
    if check_character(code[:17]) != code[17]:
        raise BadCreditCode("校验码错误", "the check character is wrong")
    return code
