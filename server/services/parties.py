"""The party library (交易主体库) and the blacklist (失信名单), whatever the transport.

A party registers itself (`create`) and gets a token of the role "party". With it, or
named by `party_id` in the host's call, it registers in a lot or an opening (`enrol`):
its name comes from the library, and a credit check goes first, logged for the staff in
the venue's log (auction/parties/check.py); a party listed on the day (Beijing time) is
refused BLACKLISTED with the entry, and no bidder is made. A lot checks the party again at
each deposit (`deposit_check`, which the lot service calls): listed, it does not qualify.
The host's call with a typed name works as before, with no check (no credit code).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from auction.checks import check_text
from auction.china import date_of
from auction.errors import (
    BadMessage,
    Blacklisted,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    refusal,
)
from auction.lot.blinding import blind
from auction.parties.blacklist import Listing, csv_rows, in_force, rows
from auction.parties.check import CreditCheck
from auction.parties.credit_code import credit_code
from server.services.common import object_of
from server.services.lots import LotService
from server.services.openings import OpeningService
from server.services.staff import MAX_TOKEN, Staff
from server.store.parties import PartyBook

__all__ = ["Party", "PartyService"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    party_id: str
    name: str
    credit_code: str
    account: str  # the bank account its deposits must come from
    contact: str

    def shown(self) -> dict[str, Any]:
        return {"party_id": self.party_id, "name": self.name, "credit_code": self.credit_code,
                "account": self.account, "contact": self.contact}  # fmt: skip


class PartyService:
    def __init__(self, lots: LotService, openings: OpeningService) -> None:
        self.lots, self.openings = lots, openings
        self.book = PartyBook(lots.book.client, lots.book.vault_key)
        lots.credit_check = self.deposit_check

    # ---- the library -------------------------------------------------------------------

    async def create(self, raw: object) -> dict[str, Any]:
        """A party registering itself: its id and token, shown this once. BAD_CREDIT_CODE
        for a code that does not check; CONFLICT when the code has a party already."""
        body = object_of(raw)
        record = {
            "name": check_text("name", body.get("name"), 200),
            "credit_code": credit_code(body.get("credit_code")),
            "account": _account(body.get("account")),
            "contact": check_text("contact", body.get("contact"), 200),
            "registered_at": await self.lots.logs.server_time(),
        }
        party_id, token = "p" + secrets.token_hex(6), secrets.token_urlsafe(32)
        if not await self.book.add(party_id, token, record):
            raise Conflict("该统一社会信用代码已登记", "a party with this credit code exists")
        return {"party_id": party_id, "token": token}

    async def who(self, token: str | None) -> Party | None:
        """The party a token is; None for any other token or none."""
        if token is None or len(token) > MAX_TOKEN:
            return None
        found = await self.book.by_token(token)
        return None if found is None else _party(*found)

    async def me(self, token: str | None) -> dict[str, Any]:
        """The party's own page: itself, and where it registered (with its bidder ids)."""
        party = await self.who(token)
        if party is None:
            raise Unauthorized()
        venues = await self.book.venues(party.party_id)
        return {
            "party": party.shown(),
            "lots": [_where(v) for v in venues if v["kind"] == "lot"],
            "openings": [_where(v) for v in venues if v["kind"] == "opening"],
        }

    # ---- registration ------------------------------------------------------------------

    async def asking(self, token: str | None) -> Party | Staff:
        """Who asks to register a bidder: a party (its own token) or the host; Forbidden
        (Unauthorized without a token) for anyone else."""
        return await self.who(token) or await self.lots.desk.require_admin(token)

    async def enrol(self, kind: str, venue_id: str, asking: Party | Staff, raw: object) -> Any:
        """Register in a lot or an opening (`kind`): the party itself, the host naming a
        `party_id`, or the host typing a `name` as before."""
        staff = asking if isinstance(asking, Staff) else None
        body = object_of(raw)
        party = await self._named(body, asking if isinstance(asking, Party) else None)
        if party is None:  # the host's typed name, as before
            if kind == "lot":
                return await self.lots.register(venue_id, body, staff)
            return await self.openings.register(venue_id, body)
        await self._checked(kind, venue_id, party)
        plain = {"name": party.name, "public_key": body.get("public_key")}
        if kind == "lot":
            made = await self.lots.register(venue_id, plain, staff)
        else:
            made = await self.openings.register(venue_id, plain)
        await self.book.joined(party.party_id, kind, venue_id, made["bidder_id"])
        return made

    async def _named(self, body: dict[str, Any], asking: Party | None) -> Party | None:
        """The party a registration is for: the asking party's own (it names no other and
        types no name), or the library's `party_id` the host gives; None for a typed name."""
        named = body.get("party_id")
        if asking is not None:
            if named not in (None, asking.party_id):
                raise Forbidden()
            if body.get("name") is not None:
                raise BadMessage(
                    "name", "交易主体以库中名称登记", "a party registers by its own name"
                )
            return asking
        if named is None:
            return None
        if body.get("name") is not None:
            raise BadMessage("party_id", "name 与 party_id 只能给一个", "give name or party_id")
        found = await self.book.party(check_text("party_id", named, 64))
        if found is None:
            raise NotFound("party")
        return _party(named, found)

    async def _checked(self, kind: str, venue_id: str, party: Party) -> None:
        """The credit check before a registration, logged in the venue's log; Blacklisted
        when the party is listed today (then nothing else is written)."""
        listing = await self.listing(party.credit_code)
        digest = await self._digest(kind, venue_id, party.credit_code)
        check = CreditCheck(party=digest, at="register", listing=listing)
        if kind == "lot":
            answer = (await self.lots.command(venue_id, "credit_check", _args(check))).answer
        else:
            answer = await self.openings.command(venue_id, check)
        if not answer.get("accepted"):
            raise refusal(answer)
        if listing is not None:
            raise Blacklisted(listing)

    async def deposit_check(self, lot_id: str, bidder_id: str) -> dict[str, Any] | None:
        """The credit check to decide with a deposit of a lot's bidder, None for a bidder
        typed in by name (no credit code to check)."""
        party_id = await self.book.party_of(lot_id, bidder_id)
        found = None if party_id is None else await self.book.party(party_id)
        if found is None:
            return None
        listing = await self.listing(found["credit_code"])
        digest = await self._digest("lot", lot_id, found["credit_code"])
        check = CreditCheck(party=digest, at="deposit", bidder_id=bidder_id, listing=listing)
        return _args(check)

    async def _digest(self, kind: str, venue_id: str, code: str) -> str:
        """The credit code as the venue's log names it: blinded with the venue's key (a
        lot keeps the clear code for its staff's export after the close, R9)."""
        if kind == "lot" and not await self.lots.book.exists(venue_id):
            raise NotFound("lot")
        digest = blind(self.lots.book.blinding_key(venue_id), "credit_code", code)
        if kind == "lot":
            await self.lots.book.keep_clear(venue_id, digest, code)
        return digest

    # ---- the blacklist -----------------------------------------------------------------

    async def listing(self, code: str) -> dict[str, Any] | None:
        """The blacklist's entry that lists `code` today in Beijing (source and dates)."""
        today = date_of(await self.lots.logs.server_time())
        found = [Listing.parse(entry, 1) for entry in await self.book.listings(code)]
        entry = in_force(found, today)
        return None if entry is None else entry.cited()

    async def import_list(self, staff: Staff, raw: object, csv_text: str | None) -> int:
        """Import entries (a JSON list, or CSV with a header row): all or none; the count.
        Each entry keeps who imported it (`by`, a staff id) and when (`at`)."""
        entries = csv_rows(csv_text) if csv_text is not None else rows(raw)
        stamp = {"by": staff.staff_id, "at": await self.lots.logs.server_time()}
        await self.book.put_listed([entry.as_map() | stamp for entry in entries])
        return len(entries)

    async def blacklist(self) -> list[dict[str, Any]]:
        return await self.book.blacklist()


def _party(party_id: str, record: dict[str, Any]) -> Party:
    fields = {k: record[k] for k in ("name", "credit_code", "account", "contact")}
    return Party(party_id=party_id, **fields)


def _where(venue: dict[str, Any]) -> dict[str, Any]:
    id_name = "lot_id" if venue["kind"] == "lot" else "opening_id"
    return {id_name: venue["id"], "bidder_id": venue["bidder_id"]}


def _args(check: CreditCheck) -> dict[str, Any]:
    """The command's fields as lot.lua takes them (the result is the rules' to write)."""
    return {k: v for k, v in check.fields().items() if k != "result" and v is not None}


def _account(value: object) -> str:
    """A bank account number: 6 to 40 digits, blanks and dashes allowed between them."""
    text = check_text("account", value, 60)
    digits = text.replace(" ", "").replace("-", "")
    if not (digits.isascii() and digits.isdigit() and 6 <= len(digits) <= 40):
        raise BadMessage("account", "须为 6 到 40 位数字的银行账号",
                         "must be a bank account of 6 to 40 digits")  # fmt: skip
    return digits
