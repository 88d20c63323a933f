"""The room session's decisions, synchronously and without a socket (streaming/rooms/session.py),
as tables in the manner of h11's tests: what goes out, what is held, what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from auction.errors import REFUSAL_CODES, BadMessage, NotFound
from streaming.rooms.session import OVERFLOW, Hello, Session

COMMANDS = ("bid", "continue", "accept")


def session(queue: int = 3) -> Session[str]:
    return Session(queue, COMMANDS)


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ({"type": "hello"}, Hello(None, None)),
        ({"type": "hello", "token": "t"}, Hello("t", None)),
        ({"type": "hello", "since": 0}, Hello(None, 0)),
        ({"type": "hello", "token": "t", "since": 2**53}, Hello("t", 2**53)),
    ],
)
def test_a_well_formed_hello(message: dict[str, Any], said: Hello) -> None:
    assert Session.hello(message) == said


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "bid"}, "type"),  # the first message must be hello
        ({"type": "hello", "token": 5}, "token"),
        ({"type": "hello", "since": -1}, "since"),
        ({"type": "hello", "since": 2**53 + 1}, "since"),
        ({"type": "hello", "since": 1.0}, "since"),
        ({"type": "hello", "since": True}, "since"),
        ({"type": "hello", "since": "3"}, "since"),
    ],
)
def test_a_malformed_hello_names_its_field(message: dict[str, Any], field: str) -> None:
    with pytest.raises(BadMessage) as refused:
        Session.hello(message)
    assert refused.value.field == field


# Each row: the steps, then what the client was sent, in order. ("arrive", seq, event) is a
# live event from the hub; ("live", floor) is the end of the replay at audit seq `floor`.
ROWS: list[tuple[str, list[tuple[Any, ...]], list[str]]] = [
    ("held during the replay, released after it",
     [("arrive", 5, "e5"), ("arrive", 6, "e6"), ("live", 4)], ["e5", "e6"]),
    ("what the replay already sent is dropped",
     [("arrive", 5, "e5"), ("arrive", 6, "e6"), ("live", 5)], ["e6"]),
    ("a replay past everything held sends none of it",
     [("arrive", 5, "e5"), ("live", 9)], []),
    ("live events after the replay go out at once, in order",
     [("live", 2), ("arrive", 3, "e3"), ("arrive", 4, "e4")], ["e3", "e4"]),
    ("a seq seen twice goes out once",
     [("live", 2), ("arrive", 3, "e3"), ("arrive", 3, "e3"), ("arrive", 2, "e2")], ["e3"]),
    ("a hole is not the session's to fill: later seqs still go out",
     [("live", 1), ("arrive", 5, "e5")], ["e5"]),
    ("the same event held twice is released once",
     [("arrive", 3, "e3"), ("arrive", 3, "e3"), ("live", 0)], ["e3"]),
]  # fmt: skip


@pytest.mark.parametrize(("steps", "sent"), [(s, o) for _, s, o in ROWS], ids=[r[0] for r in ROWS])
def test_events_go_out_once_in_order(steps: list[tuple[Any, ...]], sent: list[str]) -> None:
    room, out = session(), []
    for step in steps:
        if step[0] == "arrive":
            got = room.arrive(step[1], step[2])
            assert got != OVERFLOW
            if got is not None:
                out.append(got)
        else:
            out.extend(room.go_live(step[1]))
    assert out == sent


def test_holding_more_than_the_queue_during_the_replay_overflows() -> None:
    room = session(queue=2)
    assert room.arrive(1, "a") is None and room.arrive(2, "b") is None
    assert room.arrive(3, "c") == OVERFLOW


def test_a_live_session_never_overflows_by_itself() -> None:
    room = session(queue=1)
    room.go_live(0)
    assert [room.arrive(seq, str(seq)) for seq in (1, 2, 3)] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("message", "kind"),
    [({"type": "ping", "t": 1}, "ping"), ({"type": "ping", "t": 1.5}, "ping"),
     ({"type": "bid", "price": 1}, "command"), ({"type": "accept"}, "command")],
)  # fmt: skip
def test_kinds_of_frames(message: dict[str, Any], kind: str) -> None:
    assert session().kind_of(message) == kind


@pytest.mark.parametrize(
    ("message", "field"),
    [({"type": "ping"}, "t"), ({"type": "ping", "t": "now"}, "t"),
     ({"type": "ping", "t": True}, "t"), ({"type": "hello"}, "type"),
     ({"type": "sign_in"}, "type"), ({"type": "nonsense"}, "type")],
)  # fmt: skip
def test_frames_that_are_not_for_this_room(message: dict[str, Any], field: str) -> None:
    with pytest.raises(BadMessage) as refused:
        session().kind_of(message)
    assert refused.value.field == field


ANSWERS: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("an accepted bid, to its bidder",
     {"accepted": True, "seq": 7, "ts": 1, "price": 100}, "bidder",
     {"type": "ack", "bid_id": "b1", "seq": 7, "ts": 1, "price": 100}),
    ("a refusal carries its code and message",
     {"accepted": False, "code": "TOO_LOW", "seq": 8, "ts": 2}, "bidder",
     {"type": "nack", "bid_id": "b1", "code": "TOO_LOW", "message": REFUSAL_CODES["TOO_LOW"][1],
      "seq": 8, "ts": 2}),
    ("an unknown refusal code is an unknown bidder",
     {"accepted": False, "code": "NOT_FOUND"}, "admin",
     {"type": "nack", "bid_id": "b1", "code": "NOT_FOUND",
      "message": NotFound("bidder").message_en}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "role", "said"), [(a, r, s) for _, a, r, s in ANSWERS], ids=[a[0] for a in ANSWERS]
)
def test_answers(answer: dict[str, Any], role: str, said: dict[str, Any]) -> None:
    about = Session.about({"type": "bid", "bid_id": "b1"})
    assert Session.answer(about, answer, role, "en") == said


def test_a_bidder_is_answered_in_the_public_sequence_staff_in_the_audit_one() -> None:
    answer = {"accepted": True, "seq": 9, "pseq": 4, "ts": 1}
    about = Session.about({"type": "continue"})
    assert Session.answer(about, answer, "bidder", None)["seq"] == 4
    assert Session.answer(about, answer, "supervisor", None)["seq"] == 9
    assert about == {"command": "continue"}
