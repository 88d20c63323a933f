"""The one code catalogue (auction/errors.py): every code a client can be answered with has
words in both languages, which the pages take from the server (`/static/codes.js`)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from auction.errors import (
    CATALOGUE,
    ERROR_CODES,
    REFUSAL_CODES,
    DocumentsUnavailable,
    Forbidden,
    NotFound,
    OpenBidError,
    RateLimited,
    RequestTimeout,
    ServerBusy,
    StoreUnavailable,
    Unauthorized,
    _codes,
    refusal,
)


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


# Each error is built inside its test: an error built when the table is read would be built
# before any test runs, and a mutation test would never see its words checked.
BOUNDARY: list[tuple[Callable[[], OpenBidError], str, int, int, dict[str, str], str, str]] = [
    (Unauthorized, "UNAUTHORIZED", 401, 4401, {}, "身份验证失败", "Missing or unknown token"),
    (Forbidden, "FORBIDDEN", 403, 4403, {}, "无权执行此操作", "Your role may not do this"),
    (
        lambda: NotFound("lot L1"),
        "NOT_FOUND", 404, 4404, {}, "未找到：lot L1", "Not found: lot L1",
    ),
    (
        RateLimited,
        "RATE_LIMITED", 429, 4429, {},
        "操作过于频繁，请稍后再试", "Too many commands; slow down",
    ),
    (
        ServerBusy,
        "SERVER_BUSY", 503, 1013, {},
        "观看人数已满，请稍后再试", "no room for more viewers here; try later",
    ),
    (
        StoreUnavailable,
        "STORE_UNAVAILABLE", 503, 1013, {"retry-after": "1"},
        "数据存储暂不可用，请稍后重试", "the store is unavailable; try again",
    ),
    (
        RequestTimeout,
        "REQUEST_TIMEOUT", 408, 4408, {"connection": "close"},
        "请求体未在时限内送达", "the request body did not arrive in time",
    ),
    (
        DocumentsUnavailable,
        "DOCUMENTS_UNAVAILABLE", 503, 1011, {},
        "服务器缺少中文字体，无法生成文件（请安装 fonts-noto-cjk）",
        "no CJK font on the server (install fonts-noto-cjk)",
    ),
    (
        lambda: refusal({"accepted": False, "code": "CONFLICT"}),
        "CONFLICT", 409, 4409, {},
        "与已有数据冲突", "conflicts with existing data",
    ),
    (
        lambda: refusal({"accepted": False}),
        "NOT_FOUND", 404, 4404, {},
        "未找到：bidder", "Not found: bidder",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "code", "http_status", "ws_close", "headers", "zh", "en"),
    BOUNDARY,
    ids=[b[1] + f"-{i}" for i, b in enumerate(BOUNDARY)],
)
def test_a_boundary_error_answers_in_the_callers_language(
    make: Callable[[], OpenBidError],
    code: str,
    http_status: int,
    ws_close: int,
    headers: dict[str, str],
    zh: str,
    en: str,
) -> None:
    error = make()
    assert (error.code, error.http_status, error.ws_close) == (code, http_status, ws_close)
    assert (error.message_zh, error.message_en) == (zh, en)
    assert error.http_headers == headers
    assert error.to_dict() == {"code": code, "message": zh}
    assert error.to_dict("zh-CN,zh;q=0.9") == {"code": code, "message": zh}
    assert error.to_dict(" EN-us,en;q=0.8") == {"code": code, "message": en}
    assert str(error) == en


def test_every_error_class_has_its_code_collected() -> None:
    """ERROR_CODES is built once, at import, from the classes' codes (`_codes`): called
    again now, it must find every class the hierarchy in the module's docstring names."""
    assert _codes(OpenBidError) >= {
        "INTERNAL", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_MESSAGE", "CONFLICT",
        "RATE_LIMITED", "TOO_LARGE", "SERVER_BUSY", "STORE_UNAVAILABLE", "REQUEST_TIMEOUT",
    }  # fmt: skip
    assert _codes(OpenBidError) | REFUSAL_CODES.keys() == ERROR_CODES
