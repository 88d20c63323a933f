"""A room session without I/O (the shape of h11 and websockets' protocol objects): what a
connection decides, given what it was told. The connection (`connection.py`) does the
reading and writing and asks this object at each step; `tests/streaming/rooms/test_session.py`
runs it through tables, synchronously.

It decides:
- whether a `hello` is well formed (`hello`);
- which events go out and when (`arrive`, `go_live`): live events that arrive while the log
  is replayed are held, then released past the replay's last seq, and no seq goes out twice;
  a client that falls `queue` events behind during the replay has overflowed;
- what kind of frame a later message is (`kind_of`);
- what a decided command's answer says to this client (`answer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from auction.audience import STAFF, bidder_answer
from auction.checks import MAX_SEQ
from auction.errors import BadMessage, refusal
from auction.signals import device_of

__all__ = ["OVERFLOW", "Hello", "Session"]

T = TypeVar("T")
OVERFLOW: Literal["overflow"] = "overflow"


@dataclass(frozen=True, slots=True)
class Hello:
    token: str | None  # none: a public viewer
    since: int | None  # none: no catch-up, live events only
    device: str | None = None  # what the page names its browser (a malformed one: None)


@dataclass(slots=True)
class Session(Generic[T]):
    """`T` is what the connection sends for one event (its payload and frame)."""

    queue: int  # events that may be held during the replay
    commands: tuple[str, ...]  # what the venue decides, beside ping and hello
    last: int = -1  # the last seq handed to the client; later ones only
    held: list[tuple[int, T]] | None = field(default_factory=list)  # None once live

    @staticmethod
    def hello(message: dict[str, Any]) -> Hello:
        if message.get("type") != "hello":
            raise BadMessage("type", "第一条消息须为 hello", "the first message must be hello")
        token, since = message.get("token"), message.get("since")
        if token is not None and not isinstance(token, str):
            raise BadMessage("token", "须为文本", "must be a string")
        if since is not None and (type(since) is not int or not 0 <= since <= MAX_SEQ):
            raise BadMessage("since", "须为非负整数", "must be a non-negative integer")
        return Hello(token, since, device_of(message.get("device")))

    def arrive(self, seq: int, event: T) -> T | Literal["overflow"] | None:
        """A live event: the event to send now, None (already sent, or held for later), or
        OVERFLOW when the replay has held more than `queue`."""
        if seq <= self.last:
            return None
        if self.held is not None:
            self.held.append((seq, event))
            return OVERFLOW if len(self.held) > self.queue else None
        self.last = seq
        return event

    def go_live(self, floor: int) -> list[T]:
        """The replay reached audit seq `floor`: the held events to send now, in order."""
        self.last = max(self.last, floor)
        held, self.held = self.held or [], None
        out = []
        for seq, event in held:
            if seq > self.last:
                self.last = seq
                out.append(event)
        return out

    def kind_of(self, message: dict[str, Any]) -> Literal["ping", "command"]:
        kind = message["type"]
        if kind == "ping":
            if type(message.get("t")) not in (int, float):
                raise BadMessage("t", "须为数字", "must be a number")
            return "ping"
        if kind in self.commands:
            return "command"
        if kind == "hello":
            raise BadMessage("type", "已经 hello 过了", "hello was already said")
        raise BadMessage("type", "未知的消息类型", "unknown message type")

    @staticmethod
    def about(message: dict[str, Any]) -> dict[str, Any]:
        """What an ack or nack repeats of the command it answers."""
        kind = message["type"]
        return {"bid_id": message.get("bid_id")} if kind == "bid" else {"command": kind}

    @staticmethod
    def answer(
        about: dict[str, Any], answer: dict[str, Any], role: str, language: str | None
    ) -> dict[str, Any]:
        """The ack or nack of a decided command, as `role` may see it."""
        if role not in STAFF:
            answer = bidder_answer(answer)
        if answer.get("accepted"):
            shown = {k: v for k, v in answer.items() if k != "accepted"}
            return {"type": "ack", **about, **shown}
        # a refusal: its own seq and time go along
        shown = {k: v for k, v in answer.items() if k not in ("accepted", "code")}
        return {"type": "nack", **about, **refusal(answer).to_dict(language), **shown}
