"""What a live room is about: a lot (`/ws/lots/{id}`) or an opening (`/ws/openings/{id}`);
each satisfies the rooms' `Venue` port (streaming/rooms/ports.py).

The connection (streaming/rooms/connection.py) handles hello, replay, fan-out, sessions and
limits the same way for both; a venue answers what differs: whether the id exists, who a
bidder token is, the snapshot in the welcome, and the commands each role may send.
"""

from __future__ import annotations

from typing import Any

from auction.errors import Forbidden, NotFound
from auction.signals import Seen
from server.services.lots import LotService
from server.services.openings import (
    BIDDER_COMMANDS,
    HOST_COMMANDS,
    SUPERVISOR_COMMANDS,
    OpeningService,
)
from server.services.signals import Signals

__all__ = ["LotVenue", "OpeningVenue"]


class _Desk:
    """What both rooms share: staff tokens, a bidder's one current session, the clock. A
    store that cannot be reached raises one of `STORE_ERRORS`, which the rooms know. A
    bidder's command is traced for the supervisor's collusion signals once decided."""

    def __init__(self, service: LotService, signals: Signals | None = None) -> None:
        self.service, self.signals = service, signals

    def saw(self, venue_id: str, bidder_id: str, kind: str, seen: Seen | None) -> None:
        if self.signals is not None:
            self.signals.saw(venue_id, bidder_id, kind, seen)

    async def staff_role(self, token: str) -> str | None:
        return await self.service.desk.staff_role(token)

    async def claim_session(self, venue_id: str, bidder_id: str, session: str) -> None:
        await self.service.claim_session(venue_id, bidder_id, session)

    async def session_is_current(self, venue_id: str, bidder_id: str, session: str) -> bool:
        return await self.service.session_is_current(venue_id, bidder_id, session)

    async def server_time(self) -> int:
        return await self.service.logs.server_time()


class LotVenue(_Desk):
    name = "lot"
    commands = ("bid", "continue", "accept")

    async def exists(self, venue_id: str) -> bool:
        return await self.service.book.exists(venue_id)

    async def bidder(self, venue_id: str, token: str) -> tuple[str, str | None]:
        bidder_id = await self.service.bidder(venue_id, token)
        found = await self.service.book.bidder(venue_id, bidder_id)
        return bidder_id, found["plate"] if found else None

    async def snapshot(self, venue_id: str, bidder_id: str | None) -> tuple[dict[str, Any], int]:
        return await self.service.snapshot_at(venue_id, bidder_id)

    async def act(
        self, venue_id: str, kind: str, message: dict[str, Any], role: str,
        bidder_id: str | None, seen: Seen | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        if role != "bidder" or bidder_id is None:
            raise Forbidden()
        if kind == "bid":
            answer = await self.service.bid(venue_id, bidder_id, message)
        else:
            answer = await self.service.simple(venue_id, bidder_id, kind, message.get("sig"))
        self.saw(venue_id, bidder_id, kind, seen)
        return answer


class OpeningVenue(_Desk):
    name = "opening"
    commands = BIDDER_COMMANDS + HOST_COMMANDS + SUPERVISOR_COMMANDS

    def __init__(
        self, service: LotService, openings: OpeningService, signals: Signals | None = None
    ) -> None:
        super().__init__(service, signals)
        self.openings = openings

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
        self, venue_id: str, kind: str, message: dict[str, Any], role: str,
        bidder_id: str | None, seen: Seen | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        if role not in ("bidder", "admin", "supervisor"):
            raise Forbidden()  # the public watches
        acting = bidder_id if role == "bidder" else None
        answer = await self.openings.act(venue_id, kind, message, acting, role)
        if acting is not None:
            self.saw(venue_id, acting, kind, seen)
        return answer
