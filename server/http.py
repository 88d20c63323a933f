"""The contract's HTTP API: decode the request, call the service, encode the answer.

Errors become `{"code", "message"[, "field"]}` with the error's own status, the message in
the language of Accept-Language (zh-CN unless English comes first).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auction.errors import BadMessage, OpenBidError, Refused, RequestTimeout, StoreUnavailable
from server.service import Service

__all__ = [
    "MAX_SEQ",
    "errors",
    "json_response",
    "now_of",
    "read_json",
    "routes",
    "service_of",
    "since_of",
    "token_of",
]

MAX_BODY = 64 * 1024
# a write refused by a full store, or a store that cannot be reached
STORE_ERRORS = (OutOfMemoryError, ReadOnlyError, RedisConnectionError, RedisTimeoutError)
MAX_SEQ = 2**53  # no log gets near it; a larger `since` is a mistake, not a position
Handler = Callable[[Request], Awaitable[Response]]


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def token_of(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def read_json(request: Request, limit: int = MAX_BODY, timeout: float | None = None) -> Any:
    """The JSON body, read no further than `limit` bytes, within `timeout` seconds (the
    limits' `body_timeout_s` by default): RequestTimeout, and the connection closed, if it
    trickles in slower (a slowloris on the body)."""
    raw = bytearray()
    try:
        async with asyncio.timeout(timeout or service_of(request).limits.body_timeout_s):
            async for chunk in request.stream():
                raw += chunk
                if len(raw) > limit:
                    raise BadMessage("body", "请求体过大", f"larger than {limit} bytes")
    except TimeoutError:
        raise RequestTimeout() from None
    try:
        return json.loads(raw or b"null")
    except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
        raise BadMessage("body", "不是合法的 JSON", "is not valid JSON") from None


def since_of(request: Request) -> int:
    """The `since` query parameter: a sequence number, 0 when absent."""
    since = request.query_params.get("since", "0")
    if not (since.isascii() and since.isdigit() and len(since) <= 16 and int(since) <= MAX_SEQ):
        raise BadMessage("since", "须为非负整数", "must be a non-negative integer")
    return int(since)


async def now_of(request: Request) -> int:
    return await service_of(request).book.server_time()


def json_response(request: Request, body: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


def errors(handler: Handler) -> Handler:
    """The route, its OpenBidError answered as `{"code", "message"[, "field"]}` with the
    error's status; a store that is full or out of reach answers STORE_UNAVAILABLE."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except OpenBidError as error:
            return await _error_response(request, error)
        except STORE_ERRORS:
            return await _error_response(request, StoreUnavailable())

    return wrapped


async def _error_response(request: Request, error: OpenBidError) -> Response:
    body = error.to_dict(request.headers.get("accept-language"))
    if isinstance(error, Refused):
        body["accepted"] = False
    if not isinstance(error, StoreUnavailable):
        body["server_now"] = await now_of(request)
    return JSONResponse(body, error.http_status, headers=error.http_headers)


async def health(request: Request) -> Response:
    return json_response(request, {"ok": True, "server_now": await now_of(request)})


async def create_lot(request: Request) -> Response:
    service = service_of(request)
    service.require_admin(token_of(request))
    lot_id = await service.create_lot(await read_json(request))
    request.app.state.hall_cache.clear()  # the hall lists it at once
    return json_response(request, {"lot_id": lot_id}, 201)


async def lot(request: Request) -> Response:
    return json_response(request, await service_of(request).snapshot(request.path_params["lot"]))


async def register(request: Request) -> Response:
    service = service_of(request)
    service.require_admin(token_of(request))
    made = await service.register(request.path_params["lot"], await read_json(request))
    return json_response(request, made, 201)


async def deposit(request: Request) -> Response:
    service = service_of(request)
    service.require_admin(token_of(request))
    lot_id, bidder_id = request.path_params["lot"], request.path_params["bidder_id"]
    return json_response(
        request, await service.deposit(lot_id, bidder_id, await read_json(request))
    )


def _bidder_command(name: str) -> Handler:
    async def handle(request: Request) -> Response:
        service, lot_id = service_of(request), request.path_params["lot"]
        bidder_id = await service.bidder(lot_id, token_of(request))
        if name == "bid":
            answer = await service.bid(lot_id, bidder_id, await read_json(request))
        else:
            answer = await service.simple(lot_id, bidder_id, name)
        if not answer.get("accepted"):  # a refusal: the decision's own seq and time go along
            message = Refused(answer["code"]).to_dict(request.headers.get("accept-language"))
            return json_response(request, message | answer, 409)
        return json_response(request, answer)

    return handle


async def events(request: Request) -> Response:
    found = await service_of(request).events(request.path_params["lot"], since_of(request))
    return json_response(request, found | {"server_now": await now_of(request)})


async def result(request: Request) -> Response:
    service = service_of(request)
    staff = service.staff_role(token_of(request)) is not None
    shown = await service.result(request.path_params["lot"], staff)
    return json_response(request, shown | {"server_now": await now_of(request)})


async def audit(request: Request) -> Response:
    service = service_of(request)
    service.require_staff(token_of(request))
    return json_response(request, await service.audit(request.path_params["lot"]))


routes = [
    Route("/api/health", errors(health)),
    Route("/api/lots", errors(create_lot), methods=["POST"]),
    Route("/api/lots/{lot}", errors(lot)),
    Route("/api/lots/{lot}/bidders", errors(register), methods=["POST"]),
    Route("/api/lots/{lot}/bidders/{bidder_id}/deposit", errors(deposit), methods=["POST"]),
    Route("/api/lots/{lot}/bids", errors(_bidder_command("bid")), methods=["POST"]),
    Route("/api/lots/{lot}/continue", errors(_bidder_command("continue")), methods=["POST"]),
    Route("/api/lots/{lot}/accept", errors(_bidder_command("accept")), methods=["POST"]),
    Route("/api/lots/{lot}/events", errors(events)),
    Route("/api/lots/{lot}/result", errors(result)),
    Route("/api/lots/{lot}/audit", errors(audit)),
]
