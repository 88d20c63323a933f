"""A lot's HTTP API: setup by the host, deposits from the bank, bids from bidders, the
public snapshot and events, the result and the audit export."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auction.audience import bidder_answer
from auction.errors import StoreUnavailable, in_language
from server.services import exports, unmasking
from server.store.errors import STORE_ERRORS
from server.web import bodies
from server.web.api import Operation
from server.web.common import (
    answered,
    body_of,
    decoded,
    json_response,
    now_of,
    read_raw,
    resources,
    since_of,
    staff_body,
    token_of,
)
from server.web.durable import decided_alone
from server.web.signals import registered, saw

__all__ = ["lot_operations"]

Handler = Callable[[Request], Awaitable[Response]]


async def health(request: Request) -> Response:
    """`{"ok": true}` with the server's clock and which worker answered (0 of one process;
    `openbid serve --workers`); 503 `{"ok": false}` while the store is out of reach (a load
    balancer takes the process out until it answers again)."""
    worker: int = request.app.state.worker
    try:
        now = await now_of(request)
        return json_response(request, {"ok": True, "server_now": now, "worker": worker})
    except STORE_ERRORS:
        body = StoreUnavailable().to_dict(request.headers.get("accept-language"))
        return JSONResponse({"ok": False, "worker": worker, **body}, 503,
                            headers=StoreUnavailable.http_headers)  # fmt: skip


async def create_lot(request: Request) -> Response:
    service = resources(request).service
    await service.desk.require_admin(token_of(request))
    lot_id, findings = await service.create_lot(await body_of(request, bodies.LotConfig))
    resources(request).hall_cache.clear()  # the hall lists it at once
    language = request.headers.get("accept-language")
    warnings = [
        {"field": f.field, "code": f.code,
         "message": in_language(f.message_zh, f.message_en, language)}
        for f in findings
    ]  # fmt: skip
    return json_response(request, {"lot_id": lot_id, "warnings": warnings}, 201)


async def lot(request: Request) -> Response:
    return json_response(
        request, await resources(request).service.snapshot(request.path_params["lot"])
    )


async def register(request: Request) -> Response:
    """The host (a typed name or a party of the library), or a party itself."""
    parties = resources(request).parties
    asking = await parties.asking(token_of(request))
    body = await body_of(request, bodies.NewBidder)
    made = await parties.enrol("lot", request.path_params["lot"], asking, body)
    registered(request, request.path_params["lot"], asking, made["bidder_id"])
    return json_response(request, made, 201)


async def deposit(request: Request) -> Response:
    """A deposit, from the host (by hand) or from the bank's callback, which signs the raw
    body: `X-OpenBid-Signature: sha256=HEX`, HMAC-SHA256 under the bank's secret."""
    staff, body = await staff_body(request, bodies.DepositBody, "admin", "bank")
    lot_id, bidder_id = request.path_params["lot"], request.path_params["bidder_id"]
    answer = await resources(request).service.deposit(lot_id, bidder_id, body, staff)
    await resources(request).money.moved(lot_id, answer["server_now"])  # the day's 对账
    # the bank's or the host's call: the payer's account is the bidder's trace, not the address
    signals = resources(request).signals
    signals.saw(lot_id, bidder_id, "deposit", None, payer=body.get("payer_account"))
    return json_response(request, answer)


def _bidder_command(name: str) -> Handler:
    async def handle(request: Request) -> Response:
        service, lot_id = resources(request).service, request.path_params["lot"]
        bidder_id = await service.bidder(lot_id, token_of(request))
        if name == "bid":
            answer = await service.bid(lot_id, bidder_id, await body_of(request, bodies.BidBody))
        else:  # a body is optional: {"sig": ...} where the lot takes signatures
            raw = await read_raw(request)
            body = decoded(raw, bodies.Signed) if raw.strip() else {}
            answer = await service.simple(lot_id, bidder_id, name, body.get("sig"))
        saw(request, lot_id, bidder_id, name)
        decided_alone(request)  # the decision waited for the replicas (--ack-replicas)
        return answered(request, bidder_answer(answer))  # its seq in the public one (R5)

    return handle


async def events(request: Request) -> Response:
    found = await resources(request).service.events(request.path_params["lot"], since_of(request))
    return json_response(request, found | {"server_now": await now_of(request)})


async def result(request: Request) -> Response:
    service = resources(request).service
    staff = await service.desk.staff_role(token_of(request)) is not None
    shown = await service.result(request.path_params["lot"], staff)
    return json_response(request, shown | {"server_now": await now_of(request)})


async def audit(request: Request) -> Response:
    service = resources(request).service
    await service.desk.require_staff(token_of(request))
    return json_response(request, await exports.audit(service, request.path_params["lot"]))


async def public_audit(request: Request) -> Response:
    found = await exports.public_audit(resources(request).service, request.path_params["lot"])
    return json_response(request, found)


def _staff_command(name: str) -> Handler:
    async def handle(request: Request) -> Response:
        service = resources(request).service
        role = await service.desk.require_staff(token_of(request))
        body = await body_of(request, bodies.Reason)
        answer = await service.staff_command(request.path_params["lot"], name, role, body["reason"])
        return json_response(request, answer, 202 if answer.get("pending") else 200)

    return handle


async def draw(request: Request) -> Response:
    service = resources(request).service
    role = await service.desk.require_staff(token_of(request))
    body = await body_of(request, bodies.Share)
    return json_response(
        request, await service.draw(request.path_params["lot"], role, body["share"])
    )


async def unmask(request: Request) -> Response:
    service = resources(request).service
    staff = await service.desk.require_staff(token_of(request))
    body = await body_of(request, bodies.Reason)
    found = await unmasking.unmask(service, request.path_params["lot"], staff, body["reason"])
    return json_response(request, found)


SINCE = {"since": {"type": "integer", "minimum": 0, "maximum": 2**53}}
DECIDED = ("UNAUTHORIZED", "NOT_FOUND", "BAD_MESSAGE", "REFUSED", "RATE_LIMITED")
ADMIN = ("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BAD_MESSAGE")
lot_operations = [
    Operation(method="GET", path="/api/health", handler=health, summary="Alive, and the "
              "server's clock", answer=bodies.Health),
    Operation(method="POST", path="/api/lots", handler=create_lot, summary="Create a lot",
              auth="admin", body=bodies.LotConfig, answer=bodies.Created, status=201,
              errors=ADMIN),
    Operation(method="GET", path="/api/lots/{lot}", handler=lot, summary="A lot's public "
              "snapshot", answer=bodies.LotSnapshot, errors=("NOT_FOUND",)),
    Operation(method="POST", path="/api/lots/{lot}/bidders", handler=register,
              summary="Register a bidder: the host types a name or names a party of the "
              "library; a party may register itself", auth="admin or party",
              body=bodies.NewBidder, answer=bodies.Registered, status=201,
              errors=(*ADMIN, "CONFLICT", "REFUSED", "BLACKLISTED")),
    Operation(method="POST", path="/api/lots/{lot}/bidders/{bidder_id}/deposit",
              handler=deposit, summary="A deposit arrived: the host's entry, or the bank's "
              "callback signed with HMAC-SHA256 of the body (X-OpenBid-Signature: sha256=HEX)",
              auth="admin or bank", body=bodies.DepositBody, answer=bodies.Accepted,
              errors=(*ADMIN, "CONFLICT", "REFUSED")),
    Operation(method="POST", path="/api/lots/{lot}/bids", handler=_bidder_command("bid"),
              summary="Bid", auth="bidder", body=bodies.BidBody, answer=bodies.Accepted,
              errors=DECIDED),
    Operation(method="POST", path="/api/lots/{lot}/continue",
              handler=_bidder_command("continue"), summary="Continue into 限时竞价",
              auth="bidder", body=bodies.Signed, body_required=False, answer=bodies.Accepted,
              errors=DECIDED),
    Operation(method="POST", path="/api/lots/{lot}/accept", handler=_bidder_command("accept"),
              summary="Accept a dutch lot's price", auth="bidder", body=bodies.Signed,
              body_required=False, answer=bodies.Accepted, errors=DECIDED),
    Operation(method="POST", path="/api/lots/{lot}/suspend", handler=_staff_command("suspend"),
              summary="中止: the lot's clock and bidding stop at once (host or supervisor)",
              auth="staff", body=bodies.Reason, answer=bodies.Accepted,
              errors=(*ADMIN, "CONFLICT", "REFUSED")),
    Operation(method="POST", path="/api/lots/{lot}/resume", handler=_staff_command("resume"),
              summary="Resume a suspended lot: the first role's call answers 202 pending, the "
              "other role's resumes it", auth="staff", body=bodies.Reason, answer=bodies.Accepted,
              pending=True, errors=(*ADMIN, "CONFLICT", "REFUSED")),
    Operation(method="POST", path="/api/lots/{lot}/terminate",
              handler=_staff_command("terminate"), summary="终止: close with outcome "
              "terminated, host and supervisor both", auth="staff", body=bodies.Reason,
              answer=bodies.Accepted, pending=True, errors=(*ADMIN, "CONFLICT", "REFUSED")),
    Operation(method="POST", path="/api/lots/{lot}/default",
              handler=_staff_command("default"), summary="违约: the winner of a sold lot "
              "defaulted; the first role's call answers 202 pending, the other role's records "
              "it and the winner's deposit is forfeited", auth="staff", body=bodies.Reason,
              answer=bodies.Accepted, pending=True, errors=(*ADMIN, "CONFLICT", "REFUSED")),
    Operation(method="POST", path="/api/lots/{lot}/draw", handler=draw,
              summary="摇号: the supervisor draws the cap lottery once its pool is logged, "
              "with a share of 32 random bytes of their own", auth="staff", body=bodies.Share,
              answer=bodies.Accepted, errors=(*ADMIN, "REFUSED")),
    Operation(method="POST", path="/api/lots/{lot}/unmask", handler=unmask,
              summary="Break-glass (R9): the supervisor sees the names behind the plates and "
              "the reserve before the close; the public log records who looked and why",
              auth="staff", body=bodies.Reason, answer=bodies.Unmasked,
              errors=(*ADMIN, "REFUSED")),
    Operation(method="GET", path="/api/lots/{lot}/events", handler=events,
              summary="Public events after `since`, a page at a time", answer=bodies.Events,
              errors=("NOT_FOUND", "BAD_MESSAGE"), query=SINCE),
    Operation(method="GET", path="/api/lots/{lot}/result", handler=result,
              summary="The result after the close (staff also see refunds)", auth="optional",
              answer=bodies.Result, errors=("NOT_FOUND", "CONFLICT")),
    Operation(method="GET", path="/api/lots/{lot}/audit", handler=audit,
              summary="The hash-chained log (`openbid verify` reads it)", auth="staff",
              answer=bodies.Audit, errors=("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND")),
    Operation(method="GET", path="/api/lots/{lot}/audit/public", handler=public_audit,
              summary="The log for anyone once the lot has closed: names and payment "
              "references blinded, every decision kept (`openbid verify` replays it)",
              answer=bodies.Audit, errors=("NOT_FOUND", "CONFLICT")),
]  # fmt: skip
