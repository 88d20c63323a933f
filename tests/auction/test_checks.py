"""The field checks commands and configs share (auction/checks.py): text that cannot make one
name read as another, and commands built from a message's fields."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from auction.checks import build, check_text
from auction.errors import BadMessage

TOO_LONG = ("须为 1 到 5 个字符的文本", "must be 1 to 5 chars")
INVISIBLE = ("含有不可见或控制字符", "holds invisible or control characters")

ACCEPTED: list[tuple[str, object, bool]] = [
    ("one character", "张", False),
    ("exactly the limit", "五个字符了", False),
    ("spaces around do not count", "  abcde  ", False),
    ("a line break where lines are allowed", "一行\n二行", True),
    ("a tab where lines are allowed", "a\tb", True),
]


@pytest.mark.parametrize(
    ("value", "lines"), [a[1:] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED]
)
def test_check_text_returns_the_text_unchanged(value: str, lines: bool) -> None:
    assert check_text("name", value, 5, lines=lines) == value


REFUSED: list[tuple[str, object, bool, tuple[str, str]]] = [
    ("empty", "", False, TOO_LONG),
    ("only spaces", "   ", False, TOO_LONG),
    ("one past the limit", "六个字符了吧", False, TOO_LONG),
    ("not text", 12345, False, TOO_LONG),
    ("null", None, False, TOO_LONG),
    ("a line break by default", "a\nb", False, INVISIBLE),
    ("a tab by default", "a\tb", False, INVISIBLE),
    ("a carriage return even in lines", "a\rb", True, INVISIBLE),
    ("a NUL", "a\x00b", True, INVISIBLE),
    ("a bidi override", "ab\u202ec", True, INVISIBLE),
    ("a zero-width space", "a\u200bb", False, INVISIBLE),
]


@pytest.mark.parametrize(
    ("value", "lines", "words"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_check_text_refuses(value: object, lines: bool, words: tuple[str, str]) -> None:
    with pytest.raises(BadMessage) as raised:
        check_text("title", value, 5, lines=lines)
    zh, en = words
    assert raised.value.to_dict() == {
        "code": "BAD_MESSAGE",
        "message": f"title: {zh}",
        "field": "title",
    }
    assert raised.value.to_dict("en") == {
        "code": "BAD_MESSAGE",
        "message": f"title: {en}",
        "field": "title",
    }


def test_check_text_refuses_line_breaks_unless_asked() -> None:
    with pytest.raises(BadMessage):
        check_text("name", "a\nb", 5)


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """A command with each kind of field `build` treats differently."""

    needed: str | None
    limit: int = 7
    tags: list[str] = field(default_factory=lambda: ["a"])
    derived: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.needed == "":
            raise BadMessage("needed", "不能为空", "must not be empty")


def test_build_takes_the_given_fields_and_ignores_the_rest() -> None:
    built = build(
        Sample,
        {"needed": "x", "limit": 3, "tags": ["b"], "derived": 9, "type": "sample", "extra": 1},
    )
    assert built == Sample(needed="x", limit=3, tags=["b"])
    assert built.derived == 0


def test_build_leaves_defaults_and_makes_a_missing_field_none() -> None:
    built = build(Sample, {})
    assert (built.needed, built.limit, built.tags, built.derived) == (None, 7, ["a"], 0)


def test_build_passes_a_given_none_on() -> None:
    assert build(Sample, {"needed": "x", "limit": None}).limit is None


def test_build_lets_the_command_refuse() -> None:
    with pytest.raises(BadMessage) as raised:
        build(Sample, {"needed": ""})
    assert raised.value.field == "needed"
