"""The opening's HTTP API (不见面开标): setup by the host, envelopes from bidders, every
WebSocket command also as `POST .../commands`, the events, the record (JSON and a printable
page) and the audit export that `openbid verify` reads.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from auction.audience import bidder_answer
from auction.errors import Conflict, NotFound, RateLimited, Unauthorized
from auction.opening.envelope import b64
from auction.opening.state import OpeningPhase
from server.services.exports import export_log
from server.services.lots import LotService
from server.services.openings import (
    AUDIT_KIND,
    MAX_ENVELOPE,
    OpeningService,
)
from server.web import bodies
from server.web.api import Operation
from server.web.common import (
    answered,
    body_of,
    json_response,
    now_of,
    resources,
    since_of,
    token_of,
)
from server.web.record_page import render_record
from server.web.signals import registered, saw

__all__ = ["export", "opening_operations"]


def _openings(request: Request) -> OpeningService:
    openings: OpeningService = resources(request).openings
    return openings


async def create(request: Request) -> Response:
    await resources(request).service.desk.require_admin(token_of(request))
    opening_id = await _openings(request).create(await body_of(request, bodies.OpeningConfig))
    resources(request).hall_cache.clear()  # the hall lists it at once
    return json_response(request, {"opening_id": opening_id}, 201)


async def snapshot(request: Request) -> Response:
    openings, opening_id = _openings(request), request.path_params["opening"]
    token = token_of(request)
    bidder_id = None
    if token is not None and await resources(request).service.desk.staff_role(token) is None:
        bidder_id = await openings.bidder(opening_id, token)
    return json_response(request, await openings.snapshot(opening_id, bidder_id))


async def register(request: Request) -> Response:
    """The host (a typed name or a party of the library), or a party itself."""
    parties = resources(request).parties
    asking = await parties.asking(token_of(request))
    body = await body_of(request, bodies.NewTenderer)
    made = await parties.enrol("opening", request.path_params["opening"], asking, body)
    registered(request, request.path_params["opening"], asking, made["bidder_id"])
    return json_response(request, made, 201)


async def envelope(request: Request) -> Response:
    openings, opening_id = _openings(request), request.path_params["opening"]
    bidder_id = await openings.bidder(opening_id, token_of(request))
    if not openings.within_upload_rate(opening_id, bidder_id):
        raise RateLimited()  # before the body: an 11 MB parse is the cost to spare
    limits = resources(request).service.limits
    limit = MAX_ENVELOPE * 4 // 3 + 4096
    body = await body_of(request, bodies.Envelope, limit, limits.envelope_timeout_s)
    answer = await openings.submit(opening_id, bidder_id, body)
    if answer.get("accepted"):  # an envelope kept: the machine it was sealed on
        saw(request, opening_id, bidder_id, "envelope")
    return answered(request, bidder_answer(answer))


async def command(request: Request) -> Response:
    """Any WebSocket command of the opening, `{"type": ..., ...}`, by a bidder or the host."""
    service, openings = resources(request).service, _openings(request)
    opening_id, token = request.path_params["opening"], token_of(request)
    if token is None:
        raise Unauthorized()
    body = await body_of(request, bodies.Command)
    role = await service.desk.staff_role(token) or "bidder"  # the supervisor only co-signs (R10)
    bidder_id = None if role != "bidder" else await openings.bidder(opening_id, token)
    answer = await openings.act(opening_id, body["type"], body, bidder_id, role)
    if bidder_id is not None:
        saw(request, opening_id, bidder_id, body["type"])
    return answered(request, answer if bidder_id is None else bidder_answer(answer))


async def events(request: Request) -> Response:
    found = await _openings(request).events(request.path_params["opening"], since_of(request))
    return json_response(request, found | {"server_now": await now_of(request)})


async def record(request: Request) -> Response:
    found = await _openings(request).record(request.path_params["opening"])
    return json_response(request, found | {"server_now": await now_of(request)})


async def record_page(request: Request) -> Response:
    found = await _openings(request).record(request.path_params["opening"])
    return HTMLResponse(render_record(found))


async def audit(request: Request) -> Response:
    await resources(request).service.desk.require_staff(token_of(request))
    service, opening_id = resources(request).service, request.path_params["opening"]
    return json_response(request, await export(service, _openings(request), opening_id))


async def export(service: LotService, openings: OpeningService, opening_id: str) -> dict[str, Any]:
    """The hash-chained log with every envelope, as `openbid verify` reads it."""
    if not await openings.book.exists(opening_id):
        raise NotFound("opening")
    sealed = await openings.book.envelopes(opening_id)
    shown = {
        digest: {"nonce": b64(nonce), "ciphertext": b64(body)}
        for digest, (nonce, body) in sealed.items()
    }
    return await export_log(service, opening_id) | {"kind": AUDIT_KIND, "envelopes": shown}


async def public_audit(request: Request) -> Response:
    """The log for anyone once the opening has ended (or was aborted): by then the
    procedure has read every name and price out in public."""
    service, openings = resources(request).service, _openings(request)
    opening_id = request.path_params["opening"]
    state = await openings.tick(opening_id)  # NotFound for an unknown opening
    if state.phase not in (OpeningPhase.ENDED, OpeningPhase.ABORTED):
        raise Conflict("开标结束后公开", "the log is published once the opening has ended")
    return json_response(request, await export(service, openings, opening_id))


SINCE = {"since": {"type": "integer", "minimum": 0, "maximum": 2**53}}
ADMIN = ("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_MESSAGE")
opening_operations = [
    Operation(method="POST", path="/api/openings", handler=create, summary="Create an "
              "opening (不见面开标)", auth="admin", body=bodies.OpeningConfig,
              answer=bodies.Created, status=201, errors=ADMIN),
    Operation(method="GET", path="/api/openings/{opening}", handler=snapshot,
              summary="An opening's snapshot (a bidder also sees its own state)",
              auth="optional", answer=bodies.OpeningSnapshot,
              errors=("UNAUTHORIZED", "NOT_FOUND")),
    Operation(method="POST", path="/api/openings/{opening}/bidders", handler=register,
              summary="Register a bidder (投标人): the host types a name or names a party of "
              "the library; a party may register itself", auth="admin or party",
              body=bodies.NewTenderer, answer=bodies.Registered, status=201,
              errors=(*ADMIN, "CONFLICT", "REFUSED", "BLACKLISTED")),
    Operation(method="POST", path="/api/openings/{opening}/envelopes", handler=envelope,
              summary="Upload the sealed envelope, before the deadline", auth="bidder",
              body=bodies.Envelope, answer=bodies.Accepted,
              errors=("UNAUTHORIZED", "NOT_FOUND", "BAD_MESSAGE", "REFUSED", "RATE_LIMITED",
                      "TOO_LARGE", "REQUEST_TIMEOUT")),
    Operation(method="POST", path="/api/openings/{opening}/commands", handler=command,
              summary="Any command of the opening's WebSocket", auth="bidder or admin",
              body=bodies.Command, answer=bodies.Accepted,
              errors=("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_MESSAGE", "REFUSED",
                      "RATE_LIMITED")),
    Operation(method="GET", path="/api/openings/{opening}/events", handler=events,
              summary="Public events after `since`, a page at a time", answer=bodies.Events,
              errors=("NOT_FOUND", "BAD_MESSAGE"), query=SINCE),
    Operation(method="GET", path="/api/openings/{opening}/record", handler=record,
              summary="The 开标记录表 as issued, with confirmations and objections",
              answer=bodies.Record, errors=("NOT_FOUND", "CONFLICT")),
    Operation(method="GET", path="/api/openings/{opening}/audit", handler=audit,
              summary="The hash-chained log with every envelope (`openbid verify` reads it)",
              auth="staff", answer=bodies.Audit, errors=("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND")),
    Operation(method="GET", path="/api/openings/{opening}/audit/public", handler=public_audit,
              summary="The whole log for anyone, once the opening has ended (`openbid verify` "
              "replays it)", answer=bodies.Audit, errors=("NOT_FOUND", "CONFLICT")),
    Operation(method="GET", path="/openings/{opening}/record", handler=record_page,
              summary="The 开标记录表 as a printable page", media="text/html",
              errors=("NOT_FOUND", "CONFLICT")),
]  # fmt: skip
