"""A remote bid opening's config: `OpeningConfig.parse(raw)` is the only way in for a client's,
and the field checks the opening's commands share (auction/opening/state.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from msgspec import Meta

from auction.checks import check_text
from auction.errors import BadMessage

__all__ = [
    "DAY_MS",
    "MAX_KEY",
    "MAX_SIG",
    "MAX_TEXT",
    "OpeningConfig",
    "check_sig",
    "text",
    "whole",
]

MAX_TEXT = 2000
DAY_MS = 86_400_000


def text(name: str, value: object, limit: int = MAX_TEXT) -> str:
    return check_text(name, value, limit, lines=limit == MAX_TEXT)  # long texts have lines


MAX_KEY, MAX_SIG = 4096, 200  # characters of a PEM public key, of a base64 signature


def check_sig(sig: object) -> None:
    if sig is not None and (not isinstance(sig, str) or not 0 < len(sig) <= MAX_SIG):
        raise BadMessage("sig", "须为 base64 签名", "must be a base64 signature")


def _signatures(value: object) -> Literal["off", "optional", "required"]:
    if value == "optional" or value == "required" or value == "off":
        return value
    raise BadMessage(
        "signatures", "须为 off、optional 或 required", "must be off, optional or required"
    )


def whole(name: str, value: object, low: int, high: int = 2**53 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadMessage(name, f"须为 {low} 到 {high} 的整数", f"must be an integer {low}..{high}")
    return value


def _remedy(value: object) -> Literal["withdraw", "backup"]:
    if value == "withdraw" or value == "backup":
        return value
    raise BadMessage("backup_remedy", "须为 withdraw 或 backup", "must be withdraw or backup")


@dataclass(frozen=True, slots=True, kw_only=True)
class OpeningConfig:
    title: Annotated[str, Meta(min_length=1, max_length=200)]
    bid_deadline: Annotated[int, Meta(ge=1, le=2**53 - 1)]  # ms; 开标时间 = 投标截止时间
    decrypt_window_s: Annotated[int, Meta(ge=1, le=DAY_MS // 1000)]
    min_bidders: Annotated[int, Meta(ge=1, le=1000)] = 3
    # sign-in opens this long before the deadline
    sign_in_before_s: Annotated[int, Meta(ge=0, le=DAY_MS // 1000)] = 1800
    # what mends a platform-side decryption failure (R10, RULES §3.4): by law it is 撤回
    # (the bid is not opened) unless the tender documents name backup decryption
    backup_remedy: Literal["withdraw", "backup"] = "withdraw"
    # required: every envelope, sign-in, confirmation and objection carries its bidder's
    # signature (auction/signatures.py); off: none is asked for
    signatures: Literal["off", "optional", "required"] = "off"
    # 投标保证金 (RULES §3.3 DEPOSIT_CHECK): asked of each tenderer, its status published
    # with the bidders and read out; 0: none asked
    deposit: Annotated[int, Meta(ge=0, le=2**53 - 1)] = 0

    @classmethod
    def parse(cls, raw: object) -> OpeningConfig:
        if not isinstance(raw, Mapping):
            raise BadMessage("config", "须为 JSON 对象", "must be a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise BadMessage(unknown[0], "未知字段", "unknown field")
        for required in ("title", "bid_deadline", "decrypt_window_s"):
            if required not in raw:
                raise BadMessage(required, "必填", "required")
        return cls(
            title=text("title", raw["title"], 200),
            bid_deadline=whole("bid_deadline", raw["bid_deadline"], 1),
            decrypt_window_s=whole("decrypt_window_s", raw["decrypt_window_s"], 1, DAY_MS // 1000),
            min_bidders=whole("min_bidders", raw.get("min_bidders", 3), 1, 1000),
            sign_in_before_s=whole(
                "sign_in_before_s", raw.get("sign_in_before_s", 1800), 0, DAY_MS // 1000
            ),
            backup_remedy=_remedy(raw.get("backup_remedy", "withdraw")),
            signatures=_signatures(raw.get("signatures", "off")),
            deposit=whole("deposit", raw.get("deposit", 0), 0),
        )

    @property
    def sign_in_opens_at(self) -> int:
        return self.bid_deadline - self.sign_in_before_s * 1000

    def as_map(self) -> dict[str, Any]:
        """The config as logged; `signatures` and `deposit` only when asked for (a log from
        before they existed reads the same)."""
        found = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if self.signatures == "off":
            del found["signatures"]
        if self.deposit == 0:
            del found["deposit"]
        return found
