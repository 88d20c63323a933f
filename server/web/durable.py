"""ASGI middleware: with `--ack-replicas N`, a request that may have written (any method but
GET, HEAD and OPTIONS) and succeeded is answered only once N replicas' append-only files hold
what it wrote (server/store/acks.py `barrier`, one wait shared by every request finishing
meanwhile). A party registered, a deposit reported by the bank, a lot created: whoever was
told so can count on it across a failover, as a bidder counts on its bid.

When the replicas do not confirm in time the answer is STORE_UNAVAILABLE instead; what the
request did may stand on the primary, as a bid's does: ask again (the bank resends by its
ref, a bidder by its bid_id) or read it back.

A route whose every write is a lot's decision, which waited for the replicas on its own
connection already (a bid), says so with `decided_alone` and is answered without the
barrier."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auction.errors import OpenBidError, StoreUnavailable
from server.store.errors import STORE_ERRORS
from server.web.common import EXCEPTION_HANDLERS, Resources

__all__ = ["DurableWrites", "decided_alone"]

READS = frozenset({"GET", "HEAD", "OPTIONS"})
DECIDED = "openbid.decided_alone"  # in the request's scope: no barrier needed


def decided_alone(request: Request) -> None:
    """Every write of this request was a decision confirmed on its own connection
    (server/store/acks.py `written`); what else it did is not to be acknowledged (traces)."""
    request.scope[DECIDED] = True


class DurableWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READS:
            await self.app(scope, receive, send)
            return
        found: Resources = scope["app"].state.resources
        acks = found.service.book.acks
        if not acks.replicas:
            await self.app(scope, receive, send)
            return
        refused, epoch = False, acks.epoch  # the primary its writes will go to

        async def once_replicated(message: Message) -> None:
            nonlocal refused
            start = message["type"] == "http.response.start"
            if start and message["status"] < 400 and not scope.get(DECIDED):
                try:
                    await acks.barrier(since=epoch)
                except (StoreUnavailable, *STORE_ERRORS):
                    refused = True
                    request = Request(scope, receive)
                    answer = await EXCEPTION_HANDLERS[OpenBidError](request, StoreUnavailable())
                    await answer(scope, receive, send)
            if not refused:  # what the app goes on sending of its answer is dropped
                await send(message)

        await self.app(scope, receive, once_replicated)
