"""The contract's HTTP API: decode the request, call the service, encode the answer.

Errors become `{"code", "message"[, "field"]}` with the error's own status, the message in
the language of Accept-Language (zh-CN unless English comes first).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auction.errors import BadMessage, OpenBidError, Refused
from server.service import Service

__all__ = ["routes"]

MAX_BODY = 64 * 1024
Handler = Callable[[Request], Awaitable[Response]]


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadMessage("body", "请求体过大", f"larger than {MAX_BODY} bytes")
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise BadMessage("body", "不是合法的 JSON", "is not valid JSON") from None


async def _now(request: Request) -> int:
    return await _service(request).book.server_time()


def _json(request: Request, body: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


def _errors(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except OpenBidError as error:
            body = error.to_dict(request.headers.get("accept-language"))
            if isinstance(error, Refused):
                body["accepted"] = False
            return JSONResponse(body | {"server_now": await _now(request)}, error.http_status)

    return wrapped


async def health(request: Request) -> Response:
    return _json(request, {"ok": True, "server_now": await _now(request)})


async def create_lot(request: Request) -> Response:
    service = _service(request)
    service.require_admin(_token(request))
    lot_id = await service.create_lot(await _body(request))
    return _json(request, {"lot_id": lot_id}, 201)


async def lot(request: Request) -> Response:
    return _json(request, await _service(request).snapshot(request.path_params["lot"]))


async def register(request: Request) -> Response:
    service = _service(request)
    service.require_admin(_token(request))
    made = await service.register(request.path_params["lot"], await _body(request))
    return _json(request, made, 201)


async def deposit(request: Request) -> Response:
    service = _service(request)
    service.require_admin(_token(request))
    lot_id, bidder_id = request.path_params["lot"], request.path_params["bidder_id"]
    return _json(request, await service.deposit(lot_id, bidder_id, await _body(request)))


def _bidder_command(name: str) -> Handler:
    async def handle(request: Request) -> Response:
        service, lot_id = _service(request), request.path_params["lot"]
        bidder_id = await service.bidder(lot_id, _token(request))
        if name == "bid":
            answer = await service.bid(lot_id, bidder_id, await _body(request))
        else:
            answer = await service.simple(lot_id, bidder_id, name)
        if not answer.get("accepted"):  # a refusal: the decision's own seq and time go along
            message = Refused(answer["code"]).to_dict(request.headers.get("accept-language"))
            return _json(request, message | answer, 409)
        return _json(request, answer)

    return handle


async def events(request: Request) -> Response:
    since = request.query_params.get("since", "0")
    if not since.isdigit():
        raise BadMessage("since", "须为非负整数", "must be a non-negative integer")
    found = await _service(request).events(request.path_params["lot"], int(since))
    return _json(request, {"events": found, "server_now": await _now(request)})


async def result(request: Request) -> Response:
    service = _service(request)
    shown = await service.result(request.path_params["lot"], service.is_admin(_token(request)))
    return _json(request, shown | {"server_now": await _now(request)})


async def audit(request: Request) -> Response:
    service = _service(request)
    service.require_admin(_token(request))
    return _json(request, await service.audit(request.path_params["lot"]))


routes = [
    Route("/api/health", _errors(health)),
    Route("/api/lots", _errors(create_lot), methods=["POST"]),
    Route("/api/lots/{lot}", _errors(lot)),
    Route("/api/lots/{lot}/bidders", _errors(register), methods=["POST"]),
    Route("/api/lots/{lot}/bidders/{bidder_id}/deposit", _errors(deposit), methods=["POST"]),
    Route("/api/lots/{lot}/bids", _errors(_bidder_command("bid")), methods=["POST"]),
    Route("/api/lots/{lot}/continue", _errors(_bidder_command("continue")), methods=["POST"]),
    Route("/api/lots/{lot}/accept", _errors(_bidder_command("accept")), methods=["POST"]),
    Route("/api/lots/{lot}/events", _errors(events)),
    Route("/api/lots/{lot}/result", _errors(result)),
    Route("/api/lots/{lot}/audit", _errors(audit)),
]
