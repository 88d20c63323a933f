"""What the party library's and the blacklist's routes take and give, as types (the rest
of the API's are in server/web/bodies.py, which adds these to the description)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

__all__ = ["ANSWERS", "BODIES", "Blacklist", "Imported", "NewListing", "NewParty",
           "PartyMade", "PartyPage"]  # fmt: skip

Time = Annotated[int, Meta(ge=0, le=2**53 - 1)]
Day = Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]  # a calendar day in Beijing


class NewParty(Struct, kw_only=True):
    """A party registering itself (交易主体): its 统一社会信用代码 (GB 32100-2015, both
    check characters verified), the bank account its deposits must come from, a contact."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    credit_code: Annotated[str, Meta(min_length=18, max_length=18)]
    account: Annotated[str, Meta(min_length=6, max_length=60)]
    contact: Annotated[str, Meta(min_length=1, max_length=200)]


class NewListing(Struct, kw_only=True):
    """An entry of the blacklist (失信名单): listed from `from` to `until` (inclusive,
    Beijing days; `until` null: until further notice)."""

    credit_code: Annotated[str, Meta(min_length=18, max_length=18)]
    source: Annotated[str, Meta(min_length=1, max_length=100)]
    start: Day = msgspec.field(name="from")
    until: Day | None = None
    reason: Annotated[str, Meta(min_length=1, max_length=500)]


BODIES: tuple[type, ...] = (NewParty, NewListing)


class PartyMade(Struct, kw_only=True):
    """The party's id and its token (the role "party"), shown this once."""

    party_id: str
    token: str


class PartyPage(Struct, kw_only=True):
    """The party, and the lots and openings it registered in, each with its bidder id."""

    party: dict[str, Any]
    lots: list[dict[str, Any]]
    openings: list[dict[str, Any]]
    server_now: Time


class Imported(Struct, kw_only=True):
    imported: int
    server_now: Time


class Blacklist(Struct, kw_only=True):
    entries: list[dict[str, Any]]
    server_now: Time


ANSWERS: tuple[type, ...] = (PartyMade, PartyPage, Imported, Blacklist)
