"""Money of lots and openings: each bidder's (or tenderer's) virtual sub-account, and the
bank's callback of an arrival.

The bank names the sub-account a transfer arrived in, the amount, its `ref` and the payer's
account. The sub-account says which lot or opening and which bidder it is
(server/store/money.py); the ref may pay into one of them only, platform-wide; a bidder
registered from the party library must pay from the account it registered (RULES §0.5: no
third-party payers), else `PAYER_MISMATCH` and nothing is written, so the bank returns the
transfer. What passes is the lot's deposit as before (LotService.deposit: the credit check,
the deadline, the sum, qualification), its payer blinded in the log: where its refund goes
back to; or an opening's 投标保证金 (auction/opening/deposits.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from auction.checks import MAX_ID, build, check_text
from auction.china import date_of
from auction.errors import Conflict, Forbidden, NotFound, refusal
from auction.lot.blinding import blind
from auction.lot.state import parse
from auction.money.accounts import check_account
from auction.money.arrivals import check_payer, check_ref
from auction.money.guarantee import FileGuarantee
from auction.money.reconciliation import reconcile
from auction.money.refunds import refunds
from auction.opening.state import TenderDeposit
from server.services.common import object_of
from server.services.lots import LotService
from server.services.parties import PartyService
from server.services.staff import Staff
from server.store.money import MoneyBook
from server.store.scripts import unpack

__all__ = ["MoneyService"]

READERS = ("admin", "supervisor", "bank")  # staff who may read a bidder's sub-account


class MoneyService:
    def __init__(self, lots: LotService, parties: PartyService) -> None:
        self.lots, self.parties = lots, parties
        self.book = MoneyBook(lots.book.client, lots.book.vault_key("{money}"))

    async def account(self, lot_id: str, bidder_id: str, token: str | None) -> dict[str, Any]:
        """The bidder's sub-account for the lot: for the bidder itself or the staff who
        handle money (Unauthorized for a token nobody has, Forbidden for another's)."""
        await self._bidder_or(lot_id, bidder_id, token, READERS)
        return {"account": await self._opened(lot_id, bidder_id)}

    async def tender_account(
        self, opening_id: str, bidder_id: str, token: str | None
    ) -> dict[str, Any]:
        """The tenderer's sub-account for the opening's 投标保证金, for the same readers."""
        staff = await self.lots.desk.who(token) if token else None
        if staff is None:
            if await self.parties.openings.bidder(opening_id, token) != bidder_id:
                raise Forbidden()
        elif staff.role not in READERS:
            raise Forbidden()
        else:
            _, state = await self.parties.openings.book.load(opening_id)
            if state is None:
                raise NotFound("opening")
            if bidder_id not in state.tenderers:
                raise NotFound("bidder")
        return {"account": await self._opened(opening_id, bidder_id)}

    async def _opened(self, venue_id: str, bidder_id: str) -> str:
        """The bidder's sub-account, opened on first asking, once the replicas hold it
        (a GET: DurableWrites does not wait for it): shown, it may be paid into at once,
        and the bank's callback must find it after a failover."""
        acks = self.lots.book.acks
        since = acks.epoch
        number = await self.book.account(venue_id, bidder_id)
        await acks.barrier(since=since)
        return number

    async def refunds(self, lot_id: str, token: str | None) -> list[dict[str, Any]]:
        """The lot's refund instructions (auction/money/refunds.py) for the staff and the
        bank, each with the bidder's name and the clear account it goes back to; none
        before the close."""
        await self.lots.desk.require(token, *READERS)
        await self.lots.command(lot_id, "tick")  # NotFound for an unknown lot; a due close
        entries = [unpack(raw) for raw in await self.lots.logs.log(lot_id)]
        made = refunds(lot_id, entries)
        if not made:
            return []
        clear = await self.lots.book.clear_values(lot_id)
        names = {b["plate"]: b["name"] for b in await self.lots.bidders(lot_id)}  # closed: named
        return [
            asdict(r) | {"name": names.get(r.plate), "to_account": clear.get(r.payer or "")}
            for r in made
        ]

    async def file_guarantee(
        self, lot_id: str, bidder_id: str, token: str | None, raw: object
    ) -> dict[str, Any]:
        """电子保函 filed for the bidder (by itself or the host): it counts once its issuer
        confirms it (auction/lot/guarantees.py)."""
        staff = await self._bidder_or(lot_id, bidder_id, token, ("admin",))
        body = object_of(raw)
        number = check_text("number", body.get("number"), MAX_ID)
        blinded = blind(self.lots.book.blinding_key(lot_id), "guarantee", number)
        build(FileGuarantee, body | {"bidder_id": bidder_id, "number": blinded})  # its checks
        if not await self.book.claim_guarantee(number, lot_id, bidder_id):
            raise Conflict("该保函已用于其他竞买", "this guarantee backs another bidder")
        await self.lots.book.keep_clear(lot_id, blinded, number)
        args = {"bidder_id": bidder_id, "number": blinded, "issuer": body["issuer"],
                "amount": body["amount"], "valid_until": body["valid_until"]}  # fmt: skip
        args |= {"actor": staff.staff_id} if staff and staff.staff_id else {}
        return await self._decided(lot_id, "guarantee", args)

    async def issuer_says(self, issuer: Staff, number: str, name: str) -> dict[str, Any]:
        """The issuer confirms (`guarantee_confirm`) or revokes (`guarantee_revoke`) the
        guarantee `number` it issued (its signature checked by the caller)."""
        found = await self.book.guaranteed(number)
        if found is None:
            raise NotFound("guarantee")
        lot_id, bidder_id = found
        blinded = blind(self.lots.book.blinding_key(lot_id), "guarantee", number)
        args = {"number": blinded} | ({"actor": issuer.staff_id} if issuer.staff_id else {})
        return await self._decided(lot_id, name, args) | {"lot_id": lot_id, "bidder_id": bidder_id}

    async def _decided(self, lot_id: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
        reply = await self.lots.command(lot_id, name, args)
        if not reply.answer.get("accepted"):
            raise refusal(reply.answer)
        await self.moved(lot_id, reply.now)
        return reply.answer | {"server_now": reply.now}

    async def moved(self, lot_id: str, now: int) -> None:
        """Note the lot in the day's reconciliation (its money moved at `now`)."""
        await self.book.moved(date_of(now).isoformat(), lot_id)

    async def reconciliation(self, day: dt.date, token: str | None) -> list[dict[str, Any]]:
        """对账: for every lot whose money moved on `day`, a line for each bidder
        (auction/money/reconciliation.py), with the lot's deposit and title."""
        await self.lots.desk.require(token, *READERS)
        found = []
        for lot_id in await self.book.moved_on(day.isoformat()):
            config = await self.lots.book.config(lot_id) or {}
            entries = [unpack(raw) for raw in await self.lots.logs.log(lot_id)]
            lines = reconcile(lot_id, entries, int(config.get("deposit", 0)), day)
            found.append({"lot_id": lot_id, "title": config.get("title", ""),
                          "deposit": config.get("deposit", 0),
                          "lines": [asdict(line) for line in lines]})  # fmt: skip
        return found

    async def _bidder_or(
        self, lot_id: str, bidder_id: str, token: str | None, roles: tuple[str, ...]
    ) -> Staff | None:
        """The staff member asking (one of `roles`), or None for the bidder itself;
        Unauthorized for a token nobody has, Forbidden for anyone else."""
        staff = await self.lots.desk.who(token) if token else None
        if staff is None:
            if await self.lots.bidder(lot_id, token) != bidder_id:
                raise Forbidden()
            return None
        if staff.role not in roles:
            raise Forbidden()
        if await self.lots.book.bidder(lot_id, bidder_id) is None:
            raise NotFound("bidder")
        return staff

    async def contract(self, lot_id: str, token: str | None) -> dict[str, Any]:
        """The host records the winners' contract signed: their deposits are due back."""
        host = await self.lots.desk.require_admin(token)
        return await self._decided(lot_id, "contract", {"actor": host.staff_id})

    async def refund_reported(self, bank: Staff, refund_id: str, raw: object) -> dict[str, Any]:
        """The bank's word on a refund (`{lot}-{seq}`, as GET .../refunds names it): `sent`
        or `done`."""
        lot_id, _, seq = refund_id.rpartition("-")
        if not lot_id or not seq.isdigit() or len(seq) > 15:
            raise NotFound("refund")
        body = object_of(raw)
        args = {"seq": int(seq), "status": body.get("status"), "actor": bank.staff_id}
        parse("refunded", args)  # the domain's own checks (BadMessage)
        return await self._decided(lot_id, "refunded", args)

    async def tender_deposit(
        self, opening_id: str, bidder_id: str, raw: object, staff: Staff
    ) -> dict[str, Any]:
        """投标保证金 of an opening's tenderer, from the bank or the host by hand, its ref
        blinded as a lot's are (auction/opening/deposits.py decides it)."""
        body = object_of(raw)
        ref = body.get("ref")
        if isinstance(ref, str) and 0 < len(ref) <= MAX_ID:
            ref = blind(self.lots.book.blinding_key(opening_id), "ref", ref)
            await self.lots.book.keep_clear(opening_id, ref, str(body["ref"]))
        fields = {"bidder_id": bidder_id, "amount": body.get("amount"), "kind": body.get("kind"),
                  "ref": ref, "actor": staff.staff_id}  # fmt: skip
        answer = await self.parties.openings.command(opening_id, build(TenderDeposit, fields))
        if not answer.get("accepted"):
            raise refusal(answer)
        return answer

    async def bank_deposit(self, bank: Staff, raw: object) -> dict[str, Any]:
        """An arrival the bank reports (its signature checked by the caller): the lot's
        deposit or the opening's 投标保证金, with the lot (or opening) and the bidder it was
        for."""
        body = object_of(raw)
        number = check_account(body.get("account"))
        owner = await self.book.owner(number)
        if owner is None:
            raise NotFound("account")
        venue_id, bidder_id = owner
        party_id = await self.parties.book.party_of(venue_id, bidder_id)
        party = None if party_id is None else await self.parties.book.party(party_id)
        registered = None if party is None else str(party["account"])
        payer = check_payer(registered, str(body.get("payer_account") or ""))
        ref = body.get("ref")
        if isinstance(ref, str):  # else the deposit's own check refuses it
            check_ref(await self.book.ref_lot(ref, venue_id), venue_id)
        if await self.parties.openings.book.exists(venue_id):
            paid = {"amount": body.get("amount"), "kind": "cash", "ref": ref}
            answer = await self.tender_deposit(venue_id, bidder_id, paid, bank)
            now = await self.lots.logs.server_time()
            return answer | {"opening_id": venue_id, "bidder_id": bidder_id, "server_now": now}
        paid = {"amount": body.get("amount"), "kind": "cash", "ref": ref, "payer_account": payer}
        answer = await self.lots.deposit(venue_id, bidder_id, paid, bank)
        await self.moved(venue_id, answer["server_now"])
        return answer | {"lot_id": venue_id, "bidder_id": bidder_id}
