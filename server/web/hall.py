"""The hall's and the staff's reads: `GET /api/hall` (today's lots and openings, for
anyone), `GET /api/whoami` (which staff role a token has, for the console), and the staff's
bidder lists of a lot or an opening (host and supervisor alike).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from auction.errors import NotFound, Unauthorized
from server.services.openings import OpeningService
from server.store.hall import day_bounds
from server.web import bodies
from server.web.api import Operation
from server.web.common import day_asked, json_response, now_of, resources, token_of

__all__ = ["hall_operations"]

FINISHED = {"lot": ("closed",), "opening": ("ended", "aborted")}
HALL_FRESH_S = 1.0  # how long one reading of a day's lists serves every caller


def _openings(request: Request) -> OpeningService:
    openings: OpeningService = resources(request).openings
    return openings


async def hall(request: Request) -> Response:
    """`?day=YYYY-MM-DD` (China Standard Time; today by the server's clock when absent).
    The lists are read at most once a second a day, whoever asks: every anonymous request
    would otherwise read every listed lot and opening (security review M7)."""
    now = await now_of(request)
    day = day_asked(request, now)
    cache: dict[dt.date, tuple[float, dict[str, Any]]] = resources(request).hall_cache
    clock = time.monotonic()
    kept = cache.get(day)
    if kept is None or clock - kept[0] > HALL_FRESH_S:
        start, end = day_bounds(day)
        service, openings = resources(request).service, _openings(request)
        lots = await _listed(request, "lot", start, end, lambda i: service.snapshot(i))
        found = await _listed(request, "opening", start, end, lambda i: openings.snapshot(i))
        if len(cache) > 64:  # days asked for at random must not grow it
            cache.clear()
        kept = cache[day] = (clock, {"day": day.isoformat(), "lots": lots, "openings": found})
    return json_response(request, kept[1] | {"server_now": now})


async def _listed(request: Request, kind: str, start: int, end: int, read: Any) -> list[Any]:
    within, earlier = await resources(request).service.hall.around(kind, start, end)
    shown = []
    for venue_id in earlier + within:
        try:
            snapshot = await read(venue_id)
        except NotFound:
            continue  # listed, then the process stopped before it was created
        if venue_id in within or snapshot["phase"] not in FINISHED[kind]:
            shown.append({f"{kind}_id": venue_id} | snapshot)
    return shown


async def whoami(request: Request) -> Response:
    token = token_of(request)
    if token is None:
        raise Unauthorized()
    role = await resources(request).service.desk.staff_role(token)
    if role is None:
        raise Unauthorized()
    return json_response(request, {"role": role, "server_now": await now_of(request)})


async def lot_bidders(request: Request) -> Response:
    service = resources(request).service
    await service.desk.require_staff(token_of(request))
    found = await service.bidders(request.path_params["lot"])
    return json_response(request, {"bidders": found, "server_now": await now_of(request)})


async def opening_bidders(request: Request) -> Response:
    await resources(request).service.desk.require_staff(token_of(request))
    found = await _openings(request).tenderers(request.path_params["opening"])
    return json_response(request, {"bidders": found, "server_now": await now_of(request)})


DAY = {"day": {"type": "string", "format": "date"}}
STAFF = ("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND")
hall_operations = [
    Operation(method="GET", path="/api/hall", handler=hall, summary="A day's lots and "
              "openings (China Standard Time; today by default)", answer=bodies.HallDay,
              errors=("BAD_MESSAGE",), query=DAY),
    Operation(method="GET", path="/api/whoami", handler=whoami, summary="Which staff role a "
              "token has", auth="staff", answer=bodies.WhoAmI, errors=("UNAUTHORIZED",)),
    Operation(method="GET", path="/api/lots/{lot}/bidders", handler=lot_bidders,
              summary="A lot's bidders with names and deposits", auth="staff",
              answer=bodies.Bidders, errors=STAFF),
    Operation(method="GET", path="/api/openings/{opening}/bidders", handler=opening_bidders,
              summary="An opening's bidders and their progress", auth="staff",
              answer=bodies.Bidders, errors=STAFF),
]  # fmt: skip
