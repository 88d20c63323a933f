"""What every HTTP route shares: the app's resources, who is asking, the body checked
against its type, the query's `since`, and the one error path (the app's exception handlers).

Errors become `{"code", "message"[, "field"]}` with the error's own status, the message in
the language of Accept-Language (zh-CN unless English comes first).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auction.checks import MAX_SEQ
from auction.china import date_of
from auction.errors import (
    BadMessage,
    OpenBidError,
    Refused,
    RequestTimeout,
    StoreUnavailable,
    refusal,
)
from server.services.documents import Documents
from server.services.lots import LotService
from server.services.money import MoneyService
from server.services.openings import OpeningService
from server.services.parties import PartyService
from server.services.signals import Signals
from server.services.staff import SIGNING, Staff
from server.services.venues import LotVenue, OpeningVenue
from server.store.errors import STORE_ERRORS
from streaming.rooms.connection import Rooms
from streaming.video.studio import Studio

__all__ = [
    "EXCEPTION_HANDLERS",
    "MAX_BODY",
    "Resources",
    "answered",
    "body_of",
    "decoded",
    "json_response",
    "now_of",
    "read_raw",
    "resources",
    "signed_by",
    "since_of",
    "token_of",
]

MAX_BODY = 64 * 1024
Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Resources:
    """What the app's lifespan makes and every route reads: one object on `app.state`."""

    service: LotService
    openings: OpeningService
    lot_venue: LotVenue
    opening_venue: OpeningVenue
    rooms: Rooms
    studio: Studio
    documents: Documents
    parties: PartyService
    money: MoneyService
    signals: Signals  # what bidders were seen from, for the supervisor's collusion signals
    hall_cache: dict[Any, Any] = field(default_factory=dict)  # a day's lists, briefly
    archive_locks: dict[str, asyncio.Lock] = field(default_factory=dict)  # one build at a time


def resources(request: Request) -> Resources:
    found: Resources = request.app.state.resources
    return found


def day_asked(request: Request, now: int) -> dt.date:
    """`?day=YYYY-MM-DD` (Beijing), today by the server's clock `now` when absent;
    BadMessage for anything else."""
    asked = request.query_params.get("day")
    try:
        return dt.date.fromisoformat(asked) if asked else date_of(now)
    except ValueError:
        raise BadMessage("day", "须为 YYYY-MM-DD 日期", "must be a YYYY-MM-DD date") from None


def token_of(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def read_raw(request: Request, limit: int = MAX_BODY, timeout: float | None = None) -> bytes:
    """The body's bytes, read no further than `limit`, within `timeout` seconds (the
    limits' `body_timeout_s` by default): RequestTimeout, and the connection closed, if it
    trickles in slower (a slowloris on the body)."""
    raw = bytearray()
    try:
        async with asyncio.timeout(timeout or resources(request).service.limits.body_timeout_s):
            async for chunk in request.stream():
                raw += chunk
                if len(raw) > limit:
                    raise BadMessage("body", "请求体过大", f"larger than {limit} bytes")
    except TimeoutError:
        raise RequestTimeout() from None
    return bytes(raw)


async def body_of(
    request: Request, kind: type, limit: int = MAX_BODY, timeout: float | None = None
) -> Any:
    """The JSON body, checked against `kind` (a type of server/web/bodies.py, which the OpenAPI
    description is made from): BadMessage naming the field when it does not fit. Returns the
    body as sent, for the domain's own checks."""
    return decoded(await read_raw(request, limit, timeout), kind)


async def staff_body(request: Request, kind: type, *roles: str) -> tuple[Staff, Any]:
    """The staff member asking (one of `roles`) and the body checked against `kind`; a
    bank's or an issuer's body must be signed with its secret (`signed_by`), the host's
    needs no signature."""
    staff = await resources(request).service.desk.require(token_of(request), *roles)
    raw = await read_raw(request)
    if staff.role in SIGNING:
        signed_by(staff, request, raw)
    return staff, decoded(raw or b"{}", kind)


def signed_by(staff: Staff, request: Request, raw: bytes) -> None:
    """A callback's raw body is signed with the sender's secret (`X-OpenBid-Signature:
    sha256=HEX`, HMAC-SHA256); Refused BAD_SIGNATURE when it is not."""
    given = request.headers.get("x-openbid-signature", "")
    scheme, _, digest = given.partition("=")
    expected = hmac.new(staff.secret or b"", raw, hashlib.sha256).hexdigest()
    if staff.secret is None or scheme != "sha256" or not hmac.compare_digest(digest, expected):
        raise Refused("BAD_SIGNATURE")


def decoded(raw: bytes, kind: type) -> Any:
    """`body_of` for a body read already (one whose bytes are signed, say)."""
    try:
        found = msgspec.json.decode(raw or b"null")
    except (msgspec.DecodeError, RecursionError):  # malformed, or nested too deep
        raise BadMessage("body", "不是合法的 JSON", "is not valid JSON") from None
    try:
        msgspec.convert(found, kind, strict=True)
    except msgspec.ValidationError as error:
        raise _unfit(str(error)) from None
    return found


def _unfit(said: str) -> BadMessage:
    """msgspec's "Expected `int`, got `str` - at `$.price`" as the field and the reason."""
    at = re.search(r"at `\$\.([A-Za-z_]\w*)", said)
    missing = re.search(r"missing required field `(\w+)`", said)
    name = at[1] if at else missing[1] if missing else "body"
    reason = said.split(" - at ")[0]
    return BadMessage(name, f"不符合要求（{reason}）", reason)


def since_of(request: Request) -> int:
    """The `since` query parameter: a sequence number, 0 when absent."""
    since = request.query_params.get("since", "0")
    if not (since.isascii() and since.isdigit() and len(since) <= 16 and int(since) <= MAX_SEQ):
        raise BadMessage("since", "须为非负整数", "must be a non-negative integer")
    return int(since)


async def now_of(request: Request) -> int:
    return await resources(request).service.logs.server_time()


def json_response(request: Request, body: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


def answered(request: Request, answer: dict[str, Any]) -> Response:
    """A decided command's answer: accepted as it is; refused with its code's message and
    status, the decision's own seq and time going along (a rule's refusal: 409; an unknown
    plate or objection: 404)."""
    if answer.get("accepted"):
        return json_response(request, answer)
    error = refusal(answer)
    message = error.to_dict(request.headers.get("accept-language"))
    return json_response(request, message | answer, error.http_status)


async def _refused(request: Request, error: Exception) -> Response:
    """An OpenBidError answered as `{"code", "message"[, "field"]}` with the error's status;
    a store that is full or out of reach answers STORE_UNAVAILABLE."""
    if not isinstance(error, OpenBidError):
        error = StoreUnavailable()
    body = error.to_dict(request.headers.get("accept-language"))
    if isinstance(error, Refused):
        body["accepted"] = False
    if not isinstance(error, StoreUnavailable):
        with contextlib.suppress(*STORE_ERRORS):  # the time is a courtesy: not without a store
            body["server_now"] = await now_of(request)
    return JSONResponse(body, error.http_status, headers=error.http_headers)


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    kind: _refused for kind in (OpenBidError, *STORE_ERRORS)
}
