"""The connection budget's counts (streaming/rooms/doors.py) as a table: each socket is counted once
and taken off once, whatever happens to it (review of H3's fix: a refused public hello was
taken off the pending count twice, so silent sockets from one address went uncounted)."""

from __future__ import annotations

from dataclasses import dataclass

from server.limits import Limits
from streaming.rooms.doors import Doors


@dataclass(eq=False)
class Visitor:
    address: str = "10.0.0.1"
    role: str = "public"

    def finish(self, code: int, reason: str) -> None:
        pass


def test_a_refused_public_hello_does_not_free_anothers_pending_place() -> None:
    rooms = Doors(Limits(public_per_address=2, pending_per_address=2))
    viewers = [Visitor() for _ in range(2)]
    for viewer in viewers:
        rooms.enter(viewer)
        assert rooms.welcome(viewer)
    silent = Visitor()
    rooms.enter(silent)  # one place of two taken before hello
    for _ in range(5):  # refused viewers come and go
        refused = Visitor()
        rooms.enter(refused)
        assert not rooms.welcome(refused)
        rooms.leave(refused)
    second = Visitor()
    rooms.enter(second)
    assert rooms.refusal("10.0.0.1") is not None  # two silent sockets: the address is full
    for member in (*viewers, silent, second):
        rooms.leave(member)
    assert rooms.refusal("10.0.0.1") is None and not rooms.open


def test_bidders_are_counted_nowhere_per_address() -> None:
    rooms = Doors(Limits(public_per_address=1, pending_per_address=1))
    for _ in range(3):
        bidder = Visitor(role="bidder")
        assert rooms.refusal(bidder.address) is None
        rooms.enter(bidder)
        assert rooms.welcome(bidder)
    assert len(rooms.open) == 3
