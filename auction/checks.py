"""The field checks the commands and configs of lots and openings share."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any, TypeVar

from auction.errors import BadMessage

__all__ = ["MAX_ID", "MAX_SEQ", "build", "check_text"]

T = TypeVar("T")
MAX_ID = 64
MAX_SEQ = 2**53  # no log gets near it; a larger `since` is a mistake, not a position


def check_text(name: str, value: object, limit: int, *, lines: bool = False) -> str:
    """`value` as text of 1 to `limit` characters, none of them invisible or reordering
    (controls, bidi overrides, zero-width marks: Unicode categories C*) that could make
    one name read as another in a published list; `lines` allows line breaks and tabs."""
    if not isinstance(value, str) or not 0 < len(value.strip()) <= limit:
        raise BadMessage(name, f"须为 1 到 {limit} 个字符的文本", f"must be 1 to {limit} chars")
    allowed = "\n\t" if lines else ""
    if any(unicodedata.category(c).startswith("C") and c not in allowed for c in value):
        raise BadMessage(name, "含有不可见或控制字符", "holds invisible or control characters")
    return value


def build(kind: type[T], fields: Mapping[str, Any]) -> T:
    """A command (a frozen dataclass) with its fields taken from `fields`: others are
    ignored, a missing one with no default is None, and the command's own checks then
    refuse what does not fit (BadMessage)."""
    given = {
        f.name: fields.get(f.name)
        for f in dataclasses.fields(kind)  # type: ignore[arg-type]
        if f.init and (f.name in fields or f.default is MISSING is f.default_factory)
    }
    return kind(**given)
