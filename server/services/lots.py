"""What the server does for a caller, whatever the transport: check input, ask the bid
book, shape the answer. HTTP routes (and later WebSocket handlers) only decode and encode.

Raises OpenBidError subclasses for anything a client did wrong; nothing is written then.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from auction.checkpoint import Signer
from auction.checks import check_text
from auction.errors import (
    BadMessage,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    refusal,
)
from auction.lot import blinding, commit, prices, sealing, statute
from auction.lot.config import LotConfig
from auction.lot.state import Deposit, PlaceBid, parse
from auction.signatures import PublicKey
from server.limits import Limiter, Limits
from server.metrics import Metrics
from server.services import views
from server.services.common import bidder_of, new_plate, object_of, public_page
from server.services.signing import Signatures, key_required
from server.services.staff import Staff, StaffDesk
from server.services.transparency import ORIGIN, Transparency
from server.store.batcher import Batcher
from server.store.chainer import Chainer
from server.store.hall import Hall
from server.store.keys import lot_keys, token_hash
from server.store.lots import LotBook, LotDecision
from server.store.scripts import unpack
from server.store.staff import StaffBook
from server.store.tlog import Tree

__all__ = ["LotService"]
CreditCheck = Callable[[str, str], Awaitable[dict[str, Any] | None]]  # server/services/parties.py
PAST_GRACE_MS = 120_000  # how far in the past a new lot's opening time may be


class LotService:
    def __init__(
        self,
        book: LotBook,
        admin_token: str,
        limits: Limits | None = None,
        metrics: Metrics | None = None,
        supervisor_token: str | None = None,
        log_signer: Signer | None = None,
    ) -> None:
        self.book, self.logs = book, book.logs
        self.hall = Hall(book.client)
        self.limits = limits or Limits()
        self.metrics = metrics or Metrics()
        self.chainer = Chainer(book.logs)
        signer = log_signer or Signer.generate(ORIGIN)
        self.transparency = Transparency(
            Tree(book.client, book.acks), book.logs, self.chainer, signer
        )
        self.batcher = Batcher(book, self._logged)
        self.desk = StaffDesk(StaffBook(book.client), admin_token, supervisor_token)
        self.signatures = Signatures(book.client)
        self.credit_check: CreditCheck | None = None  # (lot, bidder) -> its party's check
        self._limiter = Limiter(self.limits.bids_per_s, self.limits.bid_burst)
        self._configs: dict[str, LotConfig] = {}

    # ---- who is asking (the staff: self.desk) -------------------------------------

    async def bidder(self, lot_id: str, token: str | None) -> str:
        """The bidder a token acts for on this lot; one lookup on the way to every bid."""
        return await bidder_of(self.book, lot_id, token, "lot")

    # ---- lots ------------------------------------------------------------------------

    async def create_lot(self, raw: object) -> tuple[str, list[statute.Finding]]:
        """A new lot from a client's config, with the statutory findings to warn of (R14);
        BadMessage naming the field when it does not hold (a preset's findings included),
        or when it would open in the past (R7: it would be born late, or closed)."""
        config = LotConfig.parse(raw)
        found = statute.warnings(config)  # under a preset: BadMessage, nothing made
        await self.refuse_past("opens_at", config.opens_at)
        lot_id = secrets.token_hex(5)
        hidden = commit.new_secrets()
        starts = config.opens_at
        await self.hall.add("lot", lot_id, starts)  # first: a listed id may not exist
        created = commit.created_fields(config, hidden, self._sealing_commitment(lot_id, config))
        await self.book.create(lot_id, config, hidden, created)
        self.chainer.poke(lot_id)
        return lot_id, found

    async def refuse_past(self, name: str, when: int) -> None:
        """BadMessage when `when` is before the server's clock, less PAST_GRACE_MS (a form
        filled to the minute, a client a little behind)."""
        if when < await self.logs.server_time() - PAST_GRACE_MS:
            raise BadMessage(name, "不得早于当前时间", "must not be in the past")

    def _sealing_commitment(self, lot_id: str, config: LotConfig) -> str | None:
        if config.mode != "sealed":
            return None
        return sealing.sealing_commitment(self._sealing_key(lot_id))

    def _sealing_key(self, lot_id: str) -> bytes:
        secret = self.book.sealing_secret
        if secret is None:
            raise RuntimeError("a sealed lot needs the server's sealing secret")
        return sealing.lot_key(secret, lot_id)

    async def _lot_config(self, lot_id: str) -> LotConfig:
        """A lot's config, read once a process (a config never changes)."""
        found = self._configs.get(lot_id)
        if found is None:
            stored = await self.book.config(lot_id)
            if stored is None:
                raise NotFound("lot")
            if len(self._configs) > 10_000:
                self._configs.clear()
            found = self._configs[lot_id] = LotConfig.stored(stored)
        return found

    async def command(
        self, lot_id: str, name: str, args: dict[str, Any] | None = None
    ) -> LotDecision:
        """One command, decided alone; its reply carries the lot's state after it."""
        reply = await self.book.command(lot_id, name, args)
        self._logged(lot_id, reply)
        return reply

    async def decide(
        self, lot_id: str, name: str, args: dict[str, Any], sealed_price: int | None = None
    ) -> dict[str, Any]:
        """One bidder command, batched with any others arriving on the lot; returns its
        answer, with the signed receipt of the entry it wrote when accepted. RateLimited
        (nothing decided) when the bidder sends too fast."""
        if not self.within_rate(lot_id, args["bidder_id"], name):
            raise RateLimited()
        answer = await self.batcher.submit(lot_id, name, args)
        self.metrics.decided(name, answer.get("code", "ACCEPTED"))
        raw = answer.pop("entry_raw", None)
        if answer.get("accepted") and isinstance(answer.get("seq"), int):
            if raw is None:  # a resent bid_id: the entry its first sending wrote
                raw = (await self.logs.log(lot_id, answer["seq"] - 1, count=1))[0]
            answer["receipt"] = self.transparency.receipt(lot_id, raw, unpack(raw), sealed_price)
        return answer

    def within_rate(self, venue_id: str, bidder_id: str, name: str) -> bool:
        """Take one from the bidder's bucket (lots and openings alike); False, counted,
        when it is empty and the command must be refused unread."""
        if self._limiter.take((venue_id, bidder_id)):
            return True
        self.metrics.decided(name, "RATE_LIMITED")
        return False

    def _logged(self, lot_id: str, reply: LotDecision) -> None:
        if reply.raw_entries:
            self.chainer.poke(lot_id)

    async def snapshot(self, lot_id: str) -> dict[str, Any]:
        return (await self.snapshot_at(lot_id))[0]

    async def snapshot_at(
        self, lot_id: str, bidder_id: str | None = None
    ) -> tuple[dict[str, Any], int]:
        """The public snapshot (with `me`, where a bidder stands, for `bidder_id`) and the
        audit seq it reflects."""
        reply = await self.command(lot_id, "tick")  # a read also moves a lot past its deadline
        config = await self._lot_config(lot_id)
        leader = reply.state.get("leader")
        found = await self.book.bidder(lot_id, leader) if leader else None
        plate = found["plate"] if found else None
        shown = views.snapshot(config, reply.state, plate, reply.now)
        mine = await self.book.bidder(lot_id, bidder_id) if bidder_id else None
        if mine is not None:
            shown["me"] = views.standing(mine, reply.state)
        return shown, reply.state["seq"]

    async def claim_session(self, lot_id: str, bidder_id: str, session: str) -> None:
        """Make `session` the bidder's only live session on the lot."""
        await self.book.client.hset(lot_keys(lot_id)["sessions"], bidder_id, session)

    async def session_is_current(self, lot_id: str, bidder_id: str, session: str) -> bool:
        current = await self.book.client.hget(lot_keys(lot_id)["sessions"], bidder_id)
        return current is not None and current.decode() == session

    async def staff_command(
        self, lot_id: str, name: str, staff: Staff, reason: str
    ) -> dict[str, Any]:
        """`suspend`, `resume`, `terminate` or `unmask` by a person of the staff, whom the
        log names; the answer, or the refusal raised."""
        args = {"by": staff.by, "reason": reason, "actor": staff.staff_id}
        parse(name, args)  # the domain's own checks (BadMessage)
        reply = await self.command(lot_id, name, args)
        if not reply.answer.get("accepted"):
            raise refusal(reply.answer)
        return reply.answer | {"server_now": reply.now}

    async def draw(self, lot_id: str, staff: Staff, share: str) -> dict[str, Any]:
        """摇号: the supervisor draws a capped lot's lottery with a share of their own (the
        host may not: whoever set the lot up gives none of the draw's entropy, review R8)."""
        if staff.role != "supervisor":
            raise Forbidden()
        args = {"by": "supervisor", "share": share, "actor": staff.staff_id}
        parse("draw", args)  # the domain's check of the share
        reply = await self.command(lot_id, "draw", args)
        if not reply.answer.get("accepted"):
            raise refusal(reply.answer)
        return reply.answer | {"server_now": reply.now}

    # ---- bidders and deposits --------------------------------------------------------

    async def register(
        self, lot_id: str, raw: object, staff: Staff | None = None
    ) -> dict[str, Any]:
        """A bidder registered by `staff` (whom the log names)."""
        body = object_of(raw)
        name, public_key = check_text("name", body.get("name"), 200), body.get("public_key")
        if public_key is not None:
            PublicKey.load(public_key)  # BadMessage unless a P-256 or an SM2 key in PEM
        config = await self._lot_config(lot_id)  # NotFound for an unknown lot
        if public_key is None and config.signatures == "required":
            raise key_required()
        bidder_id, token = "b" + secrets.token_hex(6), secrets.token_urlsafe(24)
        blinded = await self._blinded(lot_id, "name", name)
        args = {"bidder_id": bidder_id, "name": blinded, "token_hash": token_hash(token)}
        args |= {"actor": staff.staff_id} if staff else {}
        if public_key is not None:
            await self.signatures.keep_key(lot_id, bidder_id, public_key)
            args["public_key"] = public_key

        async def register(plate: str) -> dict[str, Any]:
            return (await self.command(lot_id, "register", args | {"plate": plate})).answer

        plate = await new_plate(register)
        return {"bidder_id": bidder_id, "plate": plate, "token": token}

    async def deposit(
        self, lot_id: str, bidder_id: str, raw: object, staff: Staff | None = None
    ) -> dict[str, Any]:
        """A deposit reported by `staff` (the bank, or the host by hand; the log names it),
        after a party's credit check: a listed party pays and does not qualify."""
        body = object_of(raw)
        command = Deposit(
            bidder_id=bidder_id,
            amount=_field(body, "amount"),  # checked by Deposit itself
            kind=_field(body, "kind"),
            ref=_field(body, "ref"),
        )
        await self._lot_config(lot_id)
        ref = await self._blinded(lot_id, "ref", command.ref)
        args = {"bidder_id": bidder_id, "amount": command.amount}
        args |= {"actor": staff.staff_id} if staff else {}
        if payer := _field(body, "payer_account"):  # where its refund goes back to
            args["payer"] = await self._blinded(lot_id, "payer", str(payer))
        check = await self.credit_check(lot_id, bidder_id) if self.credit_check else None
        paid = [("deposit", args | {"kind": command.kind, "ref": ref})]  # checked first, at once
        reply = await self.book.decide(lot_id, [("credit_check", check), *paid] if check else paid)
        self._logged(lot_id, reply)
        if not reply.answers[-1].get("accepted"):
            raise refusal(reply.answers[-1])
        return reply.answers[-1] | {"server_now": reply.now}

    async def _blinded(self, lot_id: str, field: str, value: str) -> str:
        """`value` as the log will hold it (auction/lot/blinding.py), its clear form kept
        for the staff first."""
        blinded = blinding.blind(self.book.blinding_key(lot_id), field, value)
        await self.book.keep_clear(lot_id, blinded, value)
        return blinded

    async def bidders(self, lot_id: str, named: bool = False) -> list[dict[str, Any]]:
        """The staff's list: each bidder's plate, deposit paid and qualification, and its
        name once the lot has closed or when `named` (the supervisor's break-glass, logged
        first: server/services/unmasking.py); before, `name` is None (R9)."""
        reply = await self.command(lot_id, "tick")  # NotFound for an unknown lot
        named = named or reply.state["phase"] == "closed"
        found = await self.book.bidders(lot_id, named)
        return [
            {k: b.get(k) for k in ("bidder_id", "plate", "deposit", "qualified")}
            | {"name": b["name"] if named else None}
            for b in sorted(found.values(), key=lambda b: b["plate"])
        ]

    # ---- bidding ---------------------------------------------------------------------

    async def bid(self, lot_id: str, bidder_id: str, raw: object) -> dict[str, Any]:
        body = object_of(raw)
        bid = PlaceBid(
            bidder_id=bidder_id,
            bid_id=_field(body, "bid_id"),  # checked by PlaceBid itself
            price=_field(body, "price"),
            indicator=_field(body, "indicator"),
            sig=_field(body, "sig"),
            quantity=_field(body, "quantity"),
        )
        config = await self._lot_config(lot_id)
        sig = await self.signatures.checked(
            lot_id, config.signatures, bidder_id, self._plate_of(lot_id, bidder_id), "bid",
            bid.sig, bid_id=bid.bid_id, price=bid.price, indicator=bid.indicator,
            quantity=bid.quantity,
        )  # fmt: skip
        if config.mode == "sealed" and bid.price is not None:
            return await self._sealed_bid(lot_id, config, bid, sig)
        args = {"bidder_id": bidder_id, "bid_id": bid.bid_id, "price": bid.price,
                "indicator": bid.indicator, "quantity": bid.quantity, "sig": sig}  # fmt: skip
        return await self.decide(lot_id, "bid", {k: v for k, v in args.items() if v is not None})

    async def _sealed_bid(
        self, lot_id: str, config: LotConfig, bid: PlaceBid, sig: str | None
    ) -> dict[str, Any]:
        """一次报价: a price off the grid is refused here, unlogged (its price is the secret);
        any other is sealed before it reaches the store, opened only at the close."""
        assert bid.price is not None
        refused = prices.sealed_refusal(config, bid.price)
        if refused is not None:
            return {"accepted": False, "code": refused}
        box = sealing.seal_price(self._sealing_key(lot_id), lot_id, bid.bidder_id, bid.price)
        args = {"bidder_id": bid.bidder_id, "bid_id": bid.bid_id, "sealed": box, "sig": sig}
        args = {k: v for k, v in args.items() if v is not None}
        return await self.decide(lot_id, "bid", args, sealed_price=bid.price)

    async def simple(
        self, lot_id: str, bidder_id: str, name: str, sig: object = None
    ) -> dict[str, Any]:
        """`continue` or `accept`, signed by its bidder where the lot asks for it."""
        config = await self._lot_config(lot_id)
        plate = self._plate_of(lot_id, bidder_id)
        signed = await self.signatures.checked(
            lot_id, config.signatures, bidder_id, plate, name, sig
        )
        args = {"bidder_id": bidder_id} | ({"sig": signed} if signed else {})
        return await self.decide(lot_id, name, args)

    def _plate_of(self, lot_id: str, bidder_id: str) -> Callable[[], Awaitable[str]]:
        async def plate() -> str:
            return await self.book.plate(lot_id, bidder_id)

        return plate

    # ---- reading the log -------------------------------------------------------------

    async def events(self, lot_id: str, since: int) -> dict[str, Any]:
        """The public events after `since`, one page of the log at a time (see `page`)."""
        await self.command(lot_id, "tick")  # NotFound for an unknown lot
        return await public_page(self.logs, lot_id, since)

    async def result(self, lot_id: str, admin: bool) -> dict[str, Any]:
        config = await self._lot_config(lot_id)
        reply = await self.command(lot_id, "tick")
        if reply.state["phase"] != "closed":
            raise Conflict("竞价尚未结束", "the lot has not closed yet")
        closed_seq = reply.state["closed_seq"]
        closed = unpack((await self.logs.log(lot_id, closed_seq - 1, count=1))[0])
        shown = views.result(closed, await self.book.bidders(lot_id), config.deposit, admin)
        seq, head = await self.chainer.catch_up(lot_id)
        return shown | {"audit_seq": seq, "audit_head": head}


def _field(body: dict[str, Any], name: str) -> Any:
    """A field as sent, None when absent; the command built from it checks its type."""
    return body.get(name)
