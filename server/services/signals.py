"""Collusion signals (防范围串标, RULES.md §5.6) for the supervisor alone: what each bidder's
actions were seen from is kept as they happen (server/store/traces.py), and the flags are
computed when the supervisor asks (auction/signals.py), with the sealed prices and the order
of the open bids the venue's log already holds.

What is kept of an action: the client's address (the direct peer's: the server runs behind
no proxy), the device the page names, and for a deposit the account it was paid from. Only
what a bidder does itself is traced: a registration by the party itself (the host's typed
registration is the host's machine), a bid, an envelope, an opening's commands. A deposit
is reported by the bank or the host, so it keeps the payer's account and no address.
Nothing of it is shown to the public, to a bidder or to the host; the flags decide nothing.
"""

from __future__ import annotations

from typing import Any

from auction.errors import Forbidden, NotFound
from auction.signals import Seen, Trace, flags
from server.services.lots import LotService
from server.services.openings import OpeningService
from server.services.staff import Staff
from server.store.scripts import unpack
from server.store.traces import Traces

__all__ = ["Signals"]


class Signals:
    def __init__(self, service: LotService, openings: OpeningService) -> None:
        self.service, self.openings = service, openings
        self.traces = Traces(service.book.client)

    def saw(
        self,
        venue_id: str,
        bidder_id: str,
        action: str,
        seen: Seen | None,
        payer: str | None = None,
    ) -> None:
        """Keep a trace of a bidder's action; never waits, never fails the action."""
        address, device = (seen.address, seen.device) if seen else (None, None)
        if address or device or payer:
            keep = self.traces.keep
            keep(venue_id, bidder_id, action, address=address, device=device, payer=payer)

    async def of_lot(self, lot_id: str, staff: Staff) -> list[dict[str, Any]]:
        """The lot's flags, its bidders named by plate: shared addresses, devices and
        payers, and once the close has revealed them, sealed prices alike or a step apart;
        bidders of the open round who never outbid each other. Forbidden but for the
        supervisor; NotFound for an unknown lot."""
        _supervisor(staff)
        if not await self.service.book.exists(lot_id):
            raise NotFound("lot")
        plates = {
            k: b["plate"] for k, b in (await self.service.book.bidders(lot_id, False)).items()
        }
        entries = [unpack(raw) for raw in await self.service.logs.log(lot_id)]
        bids = [e["plate"] for e in entries if e["kind"] == "bid" and e.get("price") is not None]
        sealed = {
            row[0]: row[1]
            for e in entries if e["kind"] == "revealed"
            for row in (*e.get("rows", ()), *e.get("void", ()))
            if isinstance(row[1], int)
        }  # fmt: skip
        traces = _named(await self.traces.read(lot_id), plates)
        return [f.as_dict() for f in flags(traces, sealed=sealed, bids=bids)]

    async def of_opening(self, opening_id: str, staff: Staff) -> list[dict[str, Any]]:
        """The opening's flags, its bidders named by bidder id: shared addresses, devices
        and payers, envelopes sealed from one machine, and once read out (唱标), prices
        alike or a step apart. Forbidden but for the supervisor; NotFound for an unknown
        opening."""
        _supervisor(staff)
        state = await self.openings.tick(opening_id)  # NotFound for an unknown opening
        ids = {t.plate: t.bidder_id for t in state.tenderers.values()}
        entries = [unpack(raw) for raw in await self.service.logs.log(opening_id)]
        sealed = {
            ids[row["plate"]]: row["price"]
            for e in entries if e["kind"] == "read_out"
            for row in e.get("rows", ())
            if row.get("plate") in ids and isinstance(row.get("price"), int)
        }  # fmt: skip
        return [f.as_dict() for f in flags(await self.traces.read(opening_id), sealed=sealed)]


def _supervisor(staff: Staff) -> None:
    if staff.role != "supervisor":
        raise Forbidden()  # the host runs the venue: not the one to watch its bidders


def _named(traces: list[Trace], plates: dict[str, str]) -> list[Trace]:
    """Traces with their bidders named by plate, as everything else of a lot is."""
    return [
        Trace(bidder=plates.get(t.bidder, t.bidder), action=t.action, ts=t.ts,
              address=t.address, device=t.device, payer=t.payer)
        for t in traces
    ]  # fmt: skip
