"""What a live room is about: a lot (`/ws/lots/{id}`) or an opening (`/ws/openings/{id}`).

The connection (server/ws.py) handles hello, replay, fan-out, sessions and limits the same
way for both; a venue answers what differs: whether the id exists, who a bidder token is,
the snapshot in the welcome, and the commands each role may send.
"""

from __future__ import annotations

from typing import Any, Protocol

from auction.errors import Forbidden, NotFound, RateLimited
from server.openings import BIDDER_COMMANDS, HOST_COMMANDS, SUPERVISOR_COMMANDS, OpeningService
from server.service import Service

__all__ = ["LotVenue", "OpeningVenue", "Venue"]


class Venue(Protocol):
    name: str  # the welcome's key for the snapshot: "lot" or "opening"
    commands: tuple[str, ...]

    async def exists(self, venue_id: str) -> bool: ...

    async def bidder(self, venue_id: str, token: str) -> tuple[str, str | None]:
        """The bidder id and plate a token acts for; raises Unauthorized or NotFound."""

    async def snapshot(self, venue_id: str, bidder_id: str | None) -> tuple[dict[str, Any], int]:
        """The welcome's snapshot, and the audit seq it reflects."""

    async def act(
        self, venue_id: str, kind: str, message: dict[str, Any], role: str, bidder_id: str | None
    ) -> dict[str, Any]:
        """Decide a command; the answer has `accepted` and, when refused, `code`."""


class LotVenue:
    name = "lot"
    commands = ("bid", "continue", "accept")

    def __init__(self, service: Service) -> None:
        self.service = service

    async def exists(self, venue_id: str) -> bool:
        return await self.service.book.exists(venue_id)

    async def bidder(self, venue_id: str, token: str) -> tuple[str, str | None]:
        bidder_id = await self.service.bidder(venue_id, token)
        found = await self.service.book.bidder(venue_id, bidder_id)
        return bidder_id, found["plate"] if found else None

    async def snapshot(self, venue_id: str, bidder_id: str | None) -> tuple[dict[str, Any], int]:
        return await self.service.snapshot_at(venue_id, bidder_id)

    async def act(
        self, venue_id: str, kind: str, message: dict[str, Any], role: str, bidder_id: str | None
    ) -> dict[str, Any]:
        if role != "bidder" or bidder_id is None:
            raise Forbidden()
        if kind == "bid":
            return await self.service.bid(venue_id, bidder_id, message)
        return await self.service.simple(venue_id, bidder_id, kind)


class OpeningVenue:
    name = "opening"
    commands = BIDDER_COMMANDS + HOST_COMMANDS + SUPERVISOR_COMMANDS

    def __init__(self, service: Service, openings: OpeningService) -> None:
        self.service, self.openings = service, openings

    async def exists(self, venue_id: str) -> bool:
        return await self.openings.book.exists(venue_id)

    async def bidder(self, venue_id: str, token: str) -> tuple[str, str | None]:
        bidder_id = await self.openings.bidder(venue_id, token)
        _, state = await self.openings.book.load(venue_id)
        tenderer = state.tenderers.get(bidder_id) if state else None
        if tenderer is None:
            raise NotFound("bidder")
        return bidder_id, tenderer.plate

    async def snapshot(self, venue_id: str, bidder_id: str | None) -> tuple[dict[str, Any], int]:
        return await self.openings.snapshot_at(venue_id, bidder_id)

    async def act(
        self, venue_id: str, kind: str, message: dict[str, Any], role: str, bidder_id: str | None
    ) -> dict[str, Any]:
        if role not in ("bidder", "admin", "supervisor"):
            raise Forbidden()  # the public watches
        acting = bidder_id if role == "bidder" else None
        if acting is not None and not self.service.within_rate(venue_id, acting, kind):
            raise RateLimited()
        return await self.openings.act(venue_id, kind, message, acting, role)
