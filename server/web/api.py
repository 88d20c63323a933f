"""The HTTP API as one table of operations: each route with who may call it, the type of
its body and of its answer, and its error codes. Starlette's routes and the OpenAPI 3.1
description (`GET /api/openapi.json`) are both made from it, and each handler checks its
body with `server.web.common.body_of` against the very type its operation names.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.web import bodies

__all__ = ["Operation", "openapi"]

Handler = Callable[[Request], Awaitable[Response]]
STATUS = {
    "UNAUTHORIZED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409, "REFUSED": 409,
    "BAD_MESSAGE": 422, "BAD_CREDIT_CODE": 422, "BLACKLISTED": 403, "RATE_LIMITED": 429,
    "TOO_LARGE": 413, "REQUEST_TIMEOUT": 408, "STORE_UNAVAILABLE": 503,
    "DOCUMENTS_UNAVAILABLE": 503,
    "UNREADABLE": 400,  # a BAD_MESSAGE that cannot be read at all (auction/errors.py BadRequest)
}  # fmt: skip
SAYS = {"UNREADABLE": "BAD_MESSAGE (unreadable)"}  # what the description calls a status's code
SECURITY = {  # who may call, as the description says it
    "anyone": None,
    "admin": "the host's (admin) token",
    "admin or party": "the host's token, or a party's own (交易主体, from POST /api/parties)",
    "party": "a party's token (from POST /api/parties)",
    "staff": "the host's or the supervisor's token",
    "supervisor": "the supervisor's token (监督; the host's is refused)",
    "bidder": "a bidder's token for this lot or opening",
    "bidder or admin": "a bidder's token for this opening, or the host's",
    "admin or bank": "the host's token, or a bank's with the body's HMAC (X-OpenBid-Signature)",
    "bank": "a bank's token, with the body's HMAC (X-OpenBid-Signature)",
    "money staff": "the host's, the supervisor's or a bank's token",
    "issuer": "a guarantee issuer's token, with the body's HMAC (X-OpenBid-Signature)",
    "bidder or money staff": "the bidder's own token, or the host's, the supervisor's or a bank's",
    "metrics": "a staff token or OPENBID_METRICS_TOKEN",
    "optional": "none for the public view; a bidder's or staff token for more",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """One route: `answer` is the type of its success (None for a non-JSON one, with its
    `media` type), `errors` the codes it may answer besides the store's."""

    method: str
    path: str
    handler: Handler
    summary: str
    auth: str = "anyone"
    body: type | None = None
    body_required: bool = True
    answer: type | None = None
    status: int = 200
    media: str = "application/json"
    errors: tuple[str, ...] = ()
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: bool = False  # may answer 202: asked, waiting for a second person
    body_list: bool = False  # the body is a JSON list of `body`
    body_media: tuple[str, ...] = ()  # other media types the body may come in, as text
    answer_media: tuple[str, ...] = ()  # other media types the answer may come in, as text

    def route(self) -> Route:
        return Route(self.path, self.handler, methods=[self.method])


def openapi(operations: list[Operation]) -> dict[str, Any]:
    """The OpenAPI 3.1 description of `operations`."""
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OpenBid", "version": "1",
            "description": "Electronic bidding rounds and remote bid openings for a public "
            "resource trading centre. Money is integer fen; times are ms since the epoch.",
        },
        "paths": paths,
        "components": {
            "schemas": bodies.components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }  # fmt: skip


def _operation(op: Operation) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": f"{op.method.lower()}{re.sub(r'[^A-Za-z]+', '_', op.path)}".rstrip("_"),
        "summary": op.summary,
        "parameters": _parameters(op),
        "responses": _responses(op),
    }
    if SECURITY[op.auth] is not None:
        described["description"] = f"Needs {SECURITY[op.auth]} (Bearer)."
        described["security"] = [{"bearer": []}, {}] if op.auth == "optional" else [{"bearer": []}]
    if op.body is not None:
        schema = {"type": "array", "items": _ref(op.body)} if op.body_list else _ref(op.body)
        content = {"application/json": {"schema": schema}}
        content |= {media: {"schema": {"type": "string"}} for media in op.body_media}
        described["requestBody"] = {"required": op.body_required, "content": content}
    return described


def _parameters(op: Operation) -> list[dict[str, Any]]:
    found = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[0-9a-z]+$"}}
        for name in re.findall(r"{(\w+)}", op.path)
    ]  # fmt: skip
    found += [
        {"name": n, "in": "query", "required": False, "schema": s} for n, s in op.query.items()
    ]
    return found


def _responses(op: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "done"}
    if op.answer is not None:
        success["content"] = {"application/json": {"schema": _ref(op.answer)}}
        success["content"] |= {m: {"schema": {"type": "string"}} for m in op.answer_media}
    else:
        success["content"] = {op.media: {"schema": {"type": "string"}}}
    responses = {str(op.status): success}
    if op.pending:
        responses["202"] = success | {"description": "asked; waits for the other role"}
    error = {"content": {"application/json": {"schema": _ref(bodies.Error)}}}
    for code in (*op.errors, "STORE_UNAVAILABLE"):
        status = str(STATUS[code])
        described = responses.setdefault(status, {"description": "", **error})
        said = SAYS.get(code, code)
        described["description"] = " or ".join(filter(None, (described["description"], said)))
    return responses


def _ref(kind: type) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{kind.__name__}"}
