"""Every error OpenBid reports to a client, each with its stable code.

Hierarchy::

    OpenBidError                 base; `code`, `http_status`, `ws_close`, bilingual message
    ├── Unauthorized             UNAUTHORIZED   401  no or unknown token
    ├── Forbidden                FORBIDDEN      403  token valid, role may not do this
    ├── NotFound                 NOT_FOUND      404  no such lot, bidder or opening
    ├── BadMessage               BAD_MESSAGE    422  malformed input; names the `field`
    │   ├── BadRequest           BAD_MESSAGE    400  input that cannot be read at all (an SDP
    │   │                                            offer that cannot be answered)
    │   └── BadCreditCode        BAD_CREDIT_CODE 422 not a 统一社会信用代码 (GB 32100-2015)
    ├── Conflict                 CONFLICT       409  clashes with existing data
    ├── Blacklisted              BLACKLISTED    403  the party is on the 失信名单; says which entry
    ├── RateLimited              RATE_LIMITED   429  too many commands too fast
    ├── TooLarge                 TOO_LARGE      413  past a byte budget (a tenderer's uploads,
    │                                                an opening's envelopes)
    ├── ServerBusy               SERVER_BUSY    503  no room for one more public viewer here
    ├── StoreUnavailable         STORE_UNAVAILABLE 503  the store refused or did not answer;
    │                                                nothing decided, or resend the bid_id
    ├── RequestTimeout           REQUEST_TIMEOUT 408 the body did not arrive in time; the
    │                                                connection is closed
    ├── DocumentsUnavailable     DOCUMENTS_UNAVAILABLE 503  no CJK font for a signed PDF
    └── Refused                  409  a well-formed command the rules refuse:
                                 NOT_QUALIFIED, PHASE_CLOSED, TOO_LOW, OFF_INCREMENT,
                                 CAP_REACHED, ALREADY_SUBMITTED, SUSPENDED, DEADLINE_PASSED,
                                 BAD_QUANTITY (a lot sold by quantity), GUARANTEE_SHORT,
                                 GUARANTEE_EXPIRES (电子保函), PAYER_MISMATCH
                                 (a bank's arrival from another account: nothing logged),
                                 BAD_SIGNATURE (refused before the rules: nothing logged);
                                 openings add
                                 NO_ENVELOPE, NOT_READY, OBJECTION_OPEN,
                                 NO_PLATFORM_FAULT, BIDDER_SIDE, NO_REMEDY, NEEDS_COSIGN

Refusals are decisions: the bid book records them in the lot's log. The other errors are
raised at the boundary before anything is decided, and change nothing. Translate them to
HTTP or WebSocket only at that boundary, with `message_for(accept_language)`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CATALOGUE",
    "ERROR_CODES",
    "MESSAGES",
    "REFUSAL_CODES",
    "BadCreditCode",
    "BadMessage",
    "BadRequest",
    "Blacklisted",
    "Conflict",
    "DocumentsUnavailable",
    "Forbidden",
    "NotFound",
    "OpenBidError",
    "RateLimited",
    "Refused",
    "RequestTimeout",
    "ServerBusy",
    "StoreUnavailable",
    "TooLarge",
    "Unauthorized",
    "in_language",
    "refusal",
]

# Refusal code -> (zh-CN, en). The wording follows what bidders see on real platforms.
REFUSAL_CODES: dict[str, tuple[str, str]] = {
    "NOT_QUALIFIED": (
        "您未取得竞买资格（保证金未足额到账或未确认继续竞价）",
        "You are not qualified to bid",
    ),
    "PHASE_CLOSED": ("当前阶段不接受此操作", "This phase does not accept that command"),
    "TOO_LOW": ("报价低于当前可接受的最低价", "The price is below the lowest acceptable bid"),
    "OFF_INCREMENT": ("报价须为增价幅度的整数倍", "The price is not on the increment grid"),
    "CAP_REACHED": ("已达最高限价，不接受报价", "The price cap has been reached"),
    "BAD_QUANTITY": (
        "申购数量须在最小申购量与总量之间，且为申购增量的整数倍",
        "The quantity must be between the lot's least quantity and its whole, in its steps",
    ),
    "ALREADY_SUBMITTED": ("您已提交过，不能重复提交", "You have already submitted"),
    "SUSPENDED": ("竞价已中止，恢复后方可继续", "The lot is suspended"),
    "DEADLINE_PASSED": ("已过报名或保证金截止时间", "The registration or deposit deadline passed"),
    "GUARANTEE_SHORT": ("保函金额须不低于竞买保证金", "The guarantee is for less than the deposit"),
    "GUARANTEE_EXPIRES": (
        "保函有效期须至竞价结束后 30 日",
        "The guarantee must stay valid 30 days past the bidding's end",
    ),
    "PAYER_MISMATCH": (
        "保证金须由竞买人登记的本单位账户交纳",
        "The deposit must come from the bidder's registered account",
    ),
    "BAD_SIGNATURE": ("签名缺失或验证未通过", "The signature is missing or does not verify"),
    # remote bid opening (不见面开标)
    "NO_ENVELOPE": ("您未在投标截止时间前递交投标文件", "You have no envelope in this opening"),
    "NOT_READY": ("尚有投标人未完成解密，解密时间未结束", "Bidders are still decrypting"),
    "OBJECTION_OPEN": ("尚有异议未答复", "An objection is still unanswered"),
    "BIDDER_SIDE": (
        "投标人原因的解密失败，不得认定为平台故障",
        "A bidder-side failure is no fault",
    ),
    "NO_REMEDY": ("招标文件未约定备用解密，平台原因的失败视为撤回", "No backup remedy: withdrawn"),
    "NEEDS_COSIGN": ("备用解密须经监督人会签", "Backup decryption needs the supervisor"),
    "NO_PLATFORM_FAULT": (
        "仅在认定平台原因解密失败后方可使用备用解密",
        "The backup path needs a declared platform-side fault",
    ),
}


class OpenBidError(Exception):
    """Base of every client-facing error; carries a code and a message in zh-CN and en."""

    code = "INTERNAL"
    http_status = 500
    ws_close = 1011
    http_headers: dict[str, str] = {}  # noqa: RUF012  (read only) sent with the HTTP answer

    def __init__(self, message_zh: str, message_en: str | None = None) -> None:
        super().__init__(message_en or message_zh)
        self.message_zh = message_zh
        self.message_en = message_en or message_zh

    def message_for(self, accept_language: str | None) -> str:
        return in_language(self.message_zh, self.message_en, accept_language)

    def to_dict(self, accept_language: str | None = None) -> dict[str, object]:
        return {"code": self.code, "message": self.message_for(accept_language)}


def in_language(message_zh: str, message_en: str, accept_language: str | None) -> str:
    """A message in the caller's language: English only when asked for first."""
    lang = (accept_language or "").strip().lower()
    return message_en if lang.startswith("en") else message_zh


class Unauthorized(OpenBidError):
    code, http_status, ws_close = "UNAUTHORIZED", 401, 4401

    def __init__(self) -> None:
        super().__init__("身份验证失败", "Missing or unknown token")


class Forbidden(OpenBidError):
    code, http_status, ws_close = "FORBIDDEN", 403, 4403

    def __init__(self) -> None:
        super().__init__("无权执行此操作", "Your role may not do this")


class NotFound(OpenBidError):
    code, http_status, ws_close = "NOT_FOUND", 404, 4404

    def __init__(self, what: str) -> None:
        super().__init__(f"未找到：{what}", f"Not found: {what}")


class BadMessage(OpenBidError):
    """Malformed input. `field` names the offending field so a form can point at it."""

    code, http_status, ws_close = "BAD_MESSAGE", 422, 4400

    def __init__(self, field: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{field}: {message_zh}", f"{field}: {message_en}")
        self.field = field

    def to_dict(self, accept_language: str | None = None) -> dict[str, object]:
        return {**super().to_dict(accept_language), "field": self.field}


class BadRequest(BadMessage):
    """Input that cannot be read at all, as HTTP's 400 says (RFC 9110 §15.5.1)."""

    http_status = 400


class BadCreditCode(BadMessage):
    """Not a 统一社会信用代码: the wrong length or alphabet, or a check character that fails."""

    code = "BAD_CREDIT_CODE"

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__("credit_code", message_zh, message_en)


class Blacklisted(OpenBidError):
    """The party is on the blacklist (失信名单) today: `listing` is the entry in force
    (its source and dates), which the answer carries. 403: the request is understood and
    the caller known, but this party may not take part (nothing about the lot conflicts)."""

    code, http_status, ws_close = "BLACKLISTED", 403, 4403

    def __init__(self, listing: dict[str, Any]) -> None:
        super().__init__(
            f"该主体列入失信名单（{listing.get('source')}，{listing.get('from')} 起）",
            f"the party is blacklisted ({listing.get('source')}, from {listing.get('from')})",
        )
        self.listing = listing

    def to_dict(self, accept_language: str | None = None) -> dict[str, object]:
        return {**super().to_dict(accept_language), "listing": self.listing}


class Conflict(OpenBidError):
    code, http_status, ws_close = "CONFLICT", 409, 4409


class RateLimited(OpenBidError):
    code, http_status, ws_close = "RATE_LIMITED", 429, 4429

    def __init__(self) -> None:
        super().__init__("操作过于频繁，请稍后再试", "Too many commands; slow down")


class ServerBusy(OpenBidError):
    code, http_status, ws_close = "SERVER_BUSY", 503, 1013

    def __init__(self) -> None:
        super().__init__("观看人数已满，请稍后再试", "no room for more viewers here; try later")


class StoreUnavailable(OpenBidError):
    code, http_status, ws_close = "STORE_UNAVAILABLE", 503, 1013
    http_headers = {"retry-after": "1"}  # noqa: RUF012  (read only)

    def __init__(self) -> None:
        super().__init__("数据存储暂不可用，请稍后重试", "the store is unavailable; try again")


class RequestTimeout(OpenBidError):
    code, http_status, ws_close = "REQUEST_TIMEOUT", 408, 4408
    http_headers = {"connection": "close"}  # noqa: RUF012  (read only)

    def __init__(self) -> None:
        super().__init__("请求体未在时限内送达", "the request body did not arrive in time")


class TooLarge(OpenBidError):
    code, http_status, ws_close = "TOO_LARGE", 413, 4413


class DocumentsUnavailable(OpenBidError):
    """No CJK font on the server: a signed document cannot be made."""

    code, http_status, ws_close = "DOCUMENTS_UNAVAILABLE", 503, 1011

    def __init__(self) -> None:
        super().__init__("服务器缺少中文字体，无法生成文件（请安装 fonts-noto-cjk）",
                         "no CJK font on the server (install fonts-noto-cjk)")  # fmt: skip


class Refused(OpenBidError):
    """A command the rules refuse. `code` is one of REFUSAL_CODES."""

    http_status, ws_close = 409, 4409

    def __init__(self, code: str) -> None:
        zh, en = REFUSAL_CODES[code]
        super().__init__(zh, en)
        self.code = code


def refusal(answer: dict[str, Any]) -> OpenBidError:
    """The error for a decision's answer that refused: the rules' code, a conflict with
    stored data, or an unknown bidder."""
    code = answer.get("code", "")
    if code in REFUSAL_CODES:
        return Refused(code)
    if code == "CONFLICT":
        return Conflict("与已有数据冲突", "conflicts with existing data")
    return NotFound("bidder")


# What a page shows for each code that is not a refusal: the error's general sense (the
# answer's own `message` may say more, such as which field), and the reasons an envelope
# failed to open.
MESSAGES: dict[str, tuple[str, str]] = {
    "UNAUTHORIZED": (
        "身份验证失败，请使用正确的链接或令牌",
        "Unknown token: use your link or token",
    ),
    "FORBIDDEN": ("无权执行此操作", "Your role may not do this"),
    "NOT_FOUND": ("未找到", "Not found"),
    "BAD_MESSAGE": ("请求格式错误", "Malformed request"),
    "CONFLICT": ("与已有数据冲突", "Conflicts with existing data"),
    "BAD_CREDIT_CODE": ("统一社会信用代码无效", "Not a valid unified social credit code"),
    "BLACKLISTED": ("该主体列入失信名单，不得参与", "The party is blacklisted"),
    "RATE_LIMITED": ("操作过于频繁，请稍后再试", "Too many requests; slow down"),
    "TOO_LARGE": ("超出允许的上传总量", "Past the upload budget"),
    "REQUEST_TIMEOUT": ("请求未在时限内送达", "The request did not arrive in time"),
    "SERVER_BUSY": ("观看人数已满，请稍后再试", "No room for more viewers; try later"),
    "STORE_UNAVAILABLE": ("数据存储暂不可用，请稍后重试", "The store is unavailable; try again"),
    "DOCUMENTS_UNAVAILABLE": ("暂时无法生成文件", "The document cannot be made now"),
    "INTERNAL": ("服务器内部错误，请稍后重试", "Server error; please try again"),
    # why an envelope did not open (auction/opening/envelope.py, replay.py)
    "BAD_KEY": ("密钥与递交的投标文件不符", "The key does not match the envelope"),
    "CORRUPT": ("投标文件已损坏", "The envelope is corrupt"),
    "BAD_CONTENT": ("投标文件内容无效", "The envelope holds no valid bid"),
    "WINDOW_CLOSED": ("解密时限已过", "The decryption window closed"),
    "STORAGE_MISMATCH": (
        "平台存储的投标文件与递交的不符（平台原因）",
        "The stored envelope is not the one uploaded (the platform's fault)",
    ),
}


def _codes(kind: type[OpenBidError]) -> set[str]:
    return {kind.code}.union(*(_codes(sub) for sub in kind.__subclasses__()))


ERROR_CODES = frozenset(_codes(OpenBidError) | REFUSAL_CODES.keys())  # every code a client sees
CATALOGUE = REFUSAL_CODES | MESSAGES  # every code with its words: what the pages show
