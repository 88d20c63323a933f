"""Collusion signals over HTTP (防范围串标): the supervisor's `GET .../signals` of a lot or an
opening, and what the other routes note of a bidder's request for them (`seen_of`, `saw`).

The client's address is the request's direct peer: the server runs behind no proxy, so no
forwarded header is believed. The device is the page's `X-OpenBid-Device` header, ignored
when malformed (auction/signals.py `device_of`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from auction.signals import Seen, device_of
from server.services.parties import Party
from server.services.staff import Staff
from server.web import bodies
from server.web.api import Operation
from server.web.common import json_response, now_of, resources, token_of

__all__ = ["DEVICE_HEADER", "registered", "saw", "seen_of", "signal_operations"]

DEVICE_HEADER = "x-openbid-device"


def seen_of(request: Request) -> Seen:
    address = request.client.host if request.client else None
    return Seen(address=address, device=device_of(request.headers.get(DEVICE_HEADER)))


def saw(request: Request, venue_id: str, bidder_id: str, action: str) -> None:
    """Note that the asking bidder did `action` (kept for the supervisor only)."""
    resources(request).signals.saw(venue_id, bidder_id, action, seen_of(request))


def registered(request: Request, venue_id: str, asking: Party | Staff, bidder_id: str) -> None:
    """A registration is the bidder's own trace only when the party made it itself: the
    host registering by hand is the host's machine."""
    if isinstance(asking, Party):
        saw(request, venue_id, bidder_id, "register")


async def lot_signals(request: Request) -> Response:
    service = resources(request).service
    staff = await service.desk.require(token_of(request), "supervisor")
    found = await resources(request).signals.of_lot(request.path_params["lot"], staff)
    return json_response(request, {"flags": found, "server_now": await now_of(request)})


async def opening_signals(request: Request) -> Response:
    service = resources(request).service
    staff = await service.desk.require(token_of(request), "supervisor")
    found = await resources(request).signals.of_opening(request.path_params["opening"], staff)
    return json_response(request, {"flags": found, "server_now": await now_of(request)})


ERRORS = ("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND")
signal_operations = [
    Operation(method="GET", path="/api/lots/{lot}/signals", handler=lot_signals,
              summary="防范围串标: flags for the supervisor alone (shared addresses, devices or "
              "payers across bidders, sealed prices alike or a step apart, bidders who never "
              "outbid each other), each with its evidence; bidders by plate",
              auth="supervisor", answer=bodies.Signals, errors=ERRORS),
    Operation(method="GET", path="/api/openings/{opening}/signals", handler=opening_signals,
              summary="防范围串标: flags for the supervisor alone (shared addresses, devices or "
              "payers, envelopes sealed from one machine, read-out prices alike or a step "
              "apart), each with its evidence; bidders by id", auth="supervisor",
              answer=bodies.Signals, errors=ERRORS),
]  # fmt: skip
