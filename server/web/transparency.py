"""The transparency log's HTTP API, for anyone: the server's public key, its latest signed
checkpoint, proofs of consistency (between two tree sizes) and of inclusion (an entry
of a lot's or an opening's log in the tree), and the checkpoints anchored in time by a
time-stamping authority (RFC 3161)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from auction.checks import MAX_ID, MAX_SEQ
from auction.errors import BadMessage
from server.web import bodies
from server.web.api import Operation
from server.web.common import json_response, resources

__all__ = ["transparency_operations"]


def _number(request: Request, name: str, default: int | None = None) -> int:
    found = request.query_params.get(name)
    if found is None and default is not None:
        return default
    if not (found and found.isascii() and found.isdigit() and len(found) <= 16):
        raise BadMessage(name, "须为非负整数", "must be a non-negative integer")
    if int(found) > MAX_SEQ:
        raise BadMessage(name, "数值过大", "is too large")
    return int(found)


def _optional(request: Request, name: str) -> int | None:
    return _number(request, name) if name in request.query_params else None


async def key(request: Request) -> Response:
    """The verifier key (C2SP signed-note vkey) that `openbid verify --key` reads."""
    signer = resources(request).service.transparency.signer
    return PlainTextResponse(signer.vkey() + "\n", headers={"Cache-Control": "max-age=3600"})


async def checkpoint(request: Request) -> Response:
    _, note = await resources(request).service.transparency.checkpoint()
    return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})


async def consistency(request: Request) -> Response:
    log = resources(request).service.transparency
    found = await log.consistency(_number(request, "from"), _number(request, "to"))
    return json_response(request, found)


async def inclusion(request: Request) -> Response:
    log_id = request.query_params.get("log", "")
    if (
        not 0 < len(log_id) <= MAX_ID
        or not log_id.isascii()
        or not log_id.replace("-", "").isalnum()
    ):
        raise BadMessage("log", "须为标的或开标的编号（或其 -documents）",
                         "must be a lot's or an opening's id (or its -documents)")  # fmt: skip
    entry = request.query_params.get("entry", "")
    if len(entry) != 64 or not all(c in "0123456789abcdef" for c in entry):
        raise BadMessage(
            "entry", "须为记录的 SHA-256（十六进制）", "must be an entry's SHA-256, hex"
        )
    log = resources(request).service.transparency
    size = _number(request, "size", 0) or None
    return json_response(request, await log.inclusion(log_id, bytes.fromhex(entry), size))


async def anchor(request: Request) -> Response:
    log = resources(request).service.transparency
    size, other = _optional(request, "size"), _optional(request, "consistent_with")
    return json_response(request, await log.anchor(size, other))


COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_SEQ}
transparency_operations = [
    Operation(method="GET", path="/api/log/key", handler=key, summary="The transparency "
              "log's verifier key (C2SP vkey)", media="text/plain"),
    Operation(method="GET", path="/api/log/checkpoint", handler=checkpoint,
              summary="The latest signed checkpoint (C2SP tlog-checkpoint)", media="text/plain"),
    Operation(method="GET", path="/api/log/consistency", handler=consistency,
              summary="A proof that the tree of `from` leaves is a prefix of the tree of `to`",
              answer=bodies.Consistency, errors=("BAD_MESSAGE", "CONFLICT"),
              query={"from": COUNT, "to": COUNT}),
    Operation(method="GET", path="/api/log/inclusion", handler=inclusion,
              summary="A proof that the entry of a log whose bytes hash to `entry` (what a "
              "receipt names) is in the tree of `size` leaves (the latest checkpoint's by "
              "default)", answer=bodies.Inclusion,
              errors=("BAD_MESSAGE", "NOT_FOUND", "CONFLICT"),
              query={"log": {"type": "string", "minLength": 1, "maxLength": MAX_ID},
                     "entry": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "size": COUNT}),
    Operation(method="GET", path="/api/log/anchor", handler=anchor,
              summary="The latest checkpoint anchored by a time-stamping authority (or the one "
              "of `size` leaves), with its RFC 3161 token; with `consistent_with`, the "
              "consistency proof between its tree and that one", answer=bodies.Anchor,
              errors=("BAD_MESSAGE", "NOT_FOUND", "CONFLICT"),
              query={"size": COUNT, "consistent_with": COUNT}),
]  # fmt: skip
