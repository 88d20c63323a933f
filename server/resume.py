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
from server.bidbook import BidBook, unpack
from streaming.codec import Codec
from streaming.hub import encode_event
from streaming.outbox import Frame

__all__ = ["replay"]

CHUNK = 1000  # log entries read at a time


async def replay(
    book: BidBook,
    log_id: str,
    who: tuple[str, str | None],
    since: int,
    codec: Codec,
    now: int,
    send: Callable[[Frame], Awaitable[None]],
) -> int:
    """Send every event after `since` that `who` (role, plate) may see; returns the audit
    seq of the last entry read."""
    role, plate = who
    staff = role in STAFF
    last = since if staff else await book.public_position(log_id, since)
    while True:
        raws = await book.log(log_id, last, CHUNK)
        for raw in raws:
            entry = unpack(raw)
            last = entry["seq"]
            if not (staff or entry["pub"] or (since == 0 and entry.get("plate") == plate)):
                continue
            frame = encode_event(entry, audience(role, plate, entry.get("plate")), codec, now)
            if frame is not None:
                await send(frame[0])
        if len(raws) < CHUNK:
            return last
