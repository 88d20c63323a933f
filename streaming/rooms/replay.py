"""What a client gets back when it says hello with `since`: every event after it that its
audience may see, in its audience's sequence (R5).

Staff resume by the audit `seq`. The public and bidders resume by the public sequence
`pseq`, gapless for them, so nobody outside the centre can count from it what the rules
keep secret. A bidder's own private entries (its deposits, refusals, sealed bid) come along
on a full replay (`since` 0); on a resume they are not sent again, and the welcome's `me`
says where the bidder stands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from auction.audience import STAFF, audience
from streaming.rooms.hub import encode_event
from streaming.rooms.outbox import Payload
from streaming.rooms.ports import Feed
from streaming.rooms.wire import Codec

__all__ = ["replay"]

CHUNK = 1000  # log entries read at a time


async def replay(
    feed: Feed,
    log_id: str,
    who: tuple[str, str | None],
    since: int,
    codec: Codec,
    now: int,
    send: Callable[[Payload], Awaitable[None]],
) -> int:
    """Send every event after `since` that `who` (role, plate) may see; returns the audit
    seq of the last entry read."""
    role, plate = who
    staff = role in STAFF
    last = since if staff else await feed.public_position(log_id, since)
    while True:
        entries = await feed.read(log_id, last, CHUNK)
        for entry in entries:
            last = entry["seq"]
            if not (staff or entry["pub"] or (since == 0 and entry.get("plate") == plate)):
                continue
            frame = encode_event(entry, audience(role, plate, entry.get("plate")), codec, now)
            if frame is not None:
                await send(frame[0])
        if len(entries) < CHUNK:
            return last
