"""What the lot and the opening services share: a body that must be an object, a bidder's
token, a plate drawn for a new bidder, and a page of a log's public events."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from auction.audience import public_event
from auction.errors import BadMessage, Conflict, NotFound, Unauthorized, refusal
from server.store.logs import Logs
from server.store.scripts import unpack

__all__ = ["EVENTS_PAGE", "PLATE_TRIES", "bidder_of", "new_plate", "object_of", "public_page"]

PLATE_TRIES = 50
EVENTS_PAGE = 1000  # log entries one events request reads at most


class Tokens(Protocol):
    async def bidder_for_token(self, venue_id: str, token: str) -> str | None: ...

    async def exists(self, venue_id: str) -> bool: ...


def object_of(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadMessage("body", "须为 JSON 对象", "must be a JSON object")
    return raw


async def bidder_of(book: Tokens, venue_id: str, token: str | None, what: str) -> str:
    """The bidder a token acts for on a lot or an opening (`what`): Unauthorized for a
    token it does not know, NotFound when there is no such lot or opening."""
    found = await book.bidder_for_token(venue_id, token) if token else None
    if found is None:
        raise Unauthorized() if await book.exists(venue_id) else NotFound(what)
    return found


async def new_plate(register: Callable[[str], Awaitable[dict[str, Any]]]) -> str:
    """号牌: a plate of 3 or 4 digits that says nothing of the order bidders came in. Tries
    `register(plate)` until the rules accept one that is free; a refusal other than a taken
    plate is raised, and so is running out of tries."""
    for _ in range(PLATE_TRIES):
        plate = str(secrets.randbelow(9900) + 100)
        answer = await register(plate)
        if answer.get("accepted"):
            return plate
        if answer.get("code") != "CONFLICT":
            raise refusal(answer)
    raise Conflict("号牌已用尽", "no free plate left")


async def public_page(logs: Logs, log_id: str, since: int) -> dict[str, Any]:
    """`{"events"}`: the next EVENTS_PAGE public events of a lot's or an opening's log after
    `since` (in the public sequence, R5); with `"more": true` and `"next"`, the `since` to
    ask with for the rest. One anonymous request reads a bounded part."""
    raws = await logs.public_log(log_id, since, EVENTS_PAGE)
    shown = [e for e in (public_event(unpack(raw)) for raw in raws) if e is not None]
    if len(raws) < EVENTS_PAGE:
        return {"events": shown}
    return {"events": shown, "more": True, "next": shown[-1]["seq"]}
