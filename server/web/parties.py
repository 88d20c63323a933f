"""The party library's and the blacklist's HTTP API: a party registers itself and reads its
own page; the host or the supervisor imports the blacklist (JSON or CSV) and reads it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from auction.errors import BadMessage
from auction.parties.blacklist import MAX_ROWS
from server.services.parties import PartyService
from server.web.api import Operation
from server.web.common import body_of, decoded, json_response, now_of, read_raw, resources, token_of
from server.web.party_types import Blacklist, Imported, NewListing, NewParty, PartyMade, PartyPage

__all__ = ["party_operations"]

MAX_LIST_BODY = 2 * 1024 * 1024  # one import of up to MAX_ROWS entries


def _parties(request: Request) -> PartyService:
    found: PartyService = resources(request).parties
    return found


async def create(request: Request) -> Response:
    made = await _parties(request).create(await body_of(request, NewParty))
    return json_response(request, made, 201)


async def me(request: Request) -> Response:
    found = await _parties(request).me(token_of(request))
    return json_response(request, found | {"server_now": await now_of(request)})


async def import_list(request: Request) -> Response:
    """Entries as a JSON list, or as CSV (`text/csv`, a header row naming the columns)."""
    staff = await resources(request).service.desk.require_staff(token_of(request))
    raw = await read_raw(request, MAX_LIST_BODY)
    csv_text = _csv(raw) if _is_csv(request) else None
    body: Any = None if csv_text is not None else decoded(raw, list[Any])
    count = await _parties(request).import_list(staff, body, csv_text)
    return json_response(request, {"imported": count, "server_now": await now_of(request)})


async def blacklist(request: Request) -> Response:
    await resources(request).service.desk.require_staff(token_of(request))
    entries = await _parties(request).blacklist()
    return json_response(request, {"entries": entries, "server_now": await now_of(request)})


def _is_csv(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == "text/csv"


def _csv(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadMessage("body", "CSV 须为 UTF-8 编码", "CSV must be UTF-8") from None


STAFF = ("UNAUTHORIZED", "FORBIDDEN")
party_operations = [
    Operation(method="POST", path="/api/parties", handler=create, summary="A party registers "
              "itself in the library (交易主体库): its token, shown once", body=NewParty,
              answer=PartyMade, status=201, errors=("BAD_MESSAGE", "BAD_CREDIT_CODE", "CONFLICT")),
    Operation(method="GET", path="/api/parties/me", handler=me, summary="The party, and the "
              "lots and openings it registered in", auth="party", answer=PartyPage,
              errors=("UNAUTHORIZED",)),
    Operation(method="POST", path="/api/credit/blacklist", handler=import_list,
              summary=f"Import blacklist entries (失信名单), a JSON list or CSV with a header "
              f"row, up to {MAX_ROWS}: all or none (a bad row is named)", auth="staff",
              body=NewListing, body_list=True, body_media=("text/csv",), answer=Imported,
              errors=(*STAFF, "BAD_MESSAGE")),
    Operation(method="GET", path="/api/credit/blacklist", handler=blacklist,
              summary="The blacklist", auth="staff", answer=Blacklist, errors=STAFF),
]  # fmt: skip
