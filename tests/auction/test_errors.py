"""The one code catalogue (auction/errors.py): every code a client can be answered with has
words in both languages, which the pages take from the server (`/static/codes.js`)."""

from __future__ import annotations

from auction.errors import CATALOGUE, ERROR_CODES, REFUSAL_CODES, NotFound, refusal


def test_every_code_a_client_sees_has_words_in_both_languages() -> None:
    assert CATALOGUE.keys() >= ERROR_CODES
    for code, (zh, en) in CATALOGUE.items():
        assert zh.strip() and en.strip() and zh != en, code


def test_a_refusal_reads_as_its_rule_says() -> None:
    for code, (zh, en) in REFUSAL_CODES.items():
        error = refusal({"accepted": False, "code": code})
        assert (error.code, error.message_zh, error.message_en) == (code, zh, en)
    assert refusal({"accepted": False, "code": "CONFLICT"}).code == "CONFLICT"
    unknown = refusal({"accepted": False, "code": "NOT_FOUND"})
    assert unknown.to_dict("en") == NotFound("bidder").to_dict("en")
