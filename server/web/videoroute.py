"""`openbid serve --workers N`: a livestream's viewers reach it through any worker.

Theory of operation. An opening's stream lives in the worker its host published to: the
studio there (streaming/video/studio.py) holds the peer connections. The SDP exchange is
plain HTTP, and the media then flows straight between each peer and the ICE candidates of
the answer, so a worker without the stream can pass an offer to the worker holding it and
hand back that worker's answer unchanged.

Each worker serves the livestream's routes (`ROUTES`) a second time on a listener of its
own on 127.0.0.1 (an ephemeral port), answering only requests that carry the secret the
parent made for its workers (`SECRET_HEADER`). There they are answered as on the public
port, but never forwarded again. While a worker's studio holds an opening's publisher,
`ob:{opening}:video` in the store says where: the `openbid serve` it belongs to (a digest
of the secret, so two servers on one store never send each other theirs) and the listener's
address. The record is written before the host's answer leaves (a viewer the page sends at
once finds it), refreshed every `REFRESH_S` while the publisher lives, and deleted when the
stream stops or its publisher's connection ends; its TTL (`TTL_S`) is for a worker killed
outright.

A worker asked about an opening whose stream it does not hold forwards the request to the
holder and returns its answer (status, body, `Location`, CORS): a viewer's offer (JSON or
WHEP) and a WHEP session's end, the host's publish (which then replaces the publisher
where it is, keeping its viewers), its WHIP session's end and the stop. Each studio still
enforces its own viewer cap. No holder, a record of another server, or a holder that does
not answer (a dead worker's port refuses at once; one hung gets `ANSWER_S`): the request is
answered here as before, a watch with 409 (the page falls back to HLS). A holder refusing
the connection is dead: its record is deleted. A single process has no listener, no record.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from server.store.errors import STORE_ERRORS
from server.store.streams import StreamHolders
from server.web.common import EXCEPTION_HANDLERS, Resources
from streaming.video.studio import Studio

__all__ = ["ROUTES", "SECRET_HEADER", "TTL_S", "VideoRoute", "start"]

log = logging.getLogger("openbid.videoroute")
SECRET_HEADER = "x-openbid-forward"
TTL_S = 15.0
REFRESH_S = TTL_S / 3
CONNECT_S = 2.0  # loopback: a live worker accepts at once, a dead one's port refuses
ANSWER_S = 20.0  # the holder gathers its ICE candidates before it answers
_OPENING = "/api/openings/{opening}"
ROUTES = frozenset(
    f"{_OPENING}/{tail}"
    for tail in ("webrtc/publish", "webrtc/watch", "webrtc/stop", "whip", "whip/{session}",
                 "whep", "whep/{session}")
)  # fmt: skip
_SENT = ("authorization", "content-type", "accept-language")
_PASSED = ("content-type", "location", "access-control-allow-origin",
           "access-control-expose-headers", "retry-after")  # fmt: skip


class VideoRoute:
    """This worker's records of the streams it holds, and its way to the other workers'.
    `start` makes it for a running app; `close` it when the app has stopped."""

    def __init__(self, client: Any, studio: Studio, secret: str, address: str) -> None:
        self.studio, self.secret = studio, secret
        self.server = hashlib.sha256(secret.encode()).hexdigest()[:16]
        self.record = f"{self.server} {address}"
        self.holders = StreamHolders(client, int(TTL_S * 1000))
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(ANSWER_S, connect=CONNECT_S))
        self.tasks: list[asyncio.Task[None]] = []
        self.listener: uvicorn.Server | None = None

    async def held(self, opening_id: str, live: bool) -> None:
        """The studio's `on_held`: this worker now holds the stream (the record is its own,
        whoever held it before) or no longer does (deleted if still its own)."""
        try:
            if live:
                await self.holders.hold(opening_id, self.record)
            else:
                await self.holders.release(opening_id, self.record)
        except STORE_ERRORS as error:  # the next refresh makes it again
            log.warning("recording where opening %s's stream is failed: %r", opening_id, error)

    async def refresh(self) -> None:
        """Keep the records of every stream this worker holds."""
        for opening_id in self.studio.held():
            await self.holders.keep(opening_id, self.record)

    async def _refreshing(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_S)  # a period: there is no event to await
            try:
                await self.refresh()
            except Exception as error:  # a store away for a while: the next round retries
                log.warning("refreshing the livestreams' records failed: %r", error)

    async def holder(self, opening_id: str) -> str | None:
        """The record of another worker of this server holding the opening's stream."""
        record = await self.holders.holder(opening_id)
        if not record or record == self.record or record.partition(" ")[0] != self.server:
            return None
        return str(record)

    async def forward(self, request: Request, content: bytes) -> Response | None:
        """The answer of the worker holding the stream to `request` (whose body, read
        already, is `content`); None when no other worker holds it or the holder does not
        answer: the caller then answers itself."""
        opening_id = request.path_params["opening"]
        record = await self.holder(opening_id)
        if record is None:
            return None
        headers = {name: request.headers[name] for name in _SENT if name in request.headers}
        headers[SECRET_HEADER] = self.secret
        url = f"http://{record.partition(' ')[2]}{request.url.path}"
        try:
            answer = await self.http.request(request.method, url, content=content, headers=headers)
        except httpx.TransportError as error:
            log.warning("the worker holding opening %s's stream does not answer: %r",
                        opening_id, error)  # fmt: skip
            if isinstance(error, httpx.ConnectError):  # nobody listens there: it is dead
                with contextlib.suppress(*STORE_ERRORS):
                    await self.holders.release(opening_id, record)
            return None
        passed = {name: answer.headers[name] for name in _PASSED if name in answer.headers}
        return Response(answer.content, answer.status_code, passed)

    async def close(self) -> None:
        """Stop the listener and the refreshing (the app, its store client, stopped first)."""
        if self.listener is not None:
            self.listener.should_exit = True
        for task in self.tasks:
            if task is not self.tasks[0]:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.http.aclose()


class _Secret:
    """Only the workers' own requests reach the routes behind: 403 for any other."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app, self.secret = app, secret.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = dict(scope.get("headers", ())).get(SECRET_HEADER.encode(), b"")
        if scope["type"] != "http" or not hmac.compare_digest(given, self.secret):
            await Response(status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _Listener(uvicorn.Server):
    """The main server owns the signals; this one stops when told."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _internal_app(app: Starlette, secret: str) -> Starlette:
    """`app`'s livestream routes behind the secret, sharing its resources. Its state has no
    route: a request forwarded here is answered here."""
    routes = [route for route in app.routes if isinstance(route, Route) and route.path in ROUTES]
    inner = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS,
                      middleware=[Middleware(_Secret, secret=secret)])  # fmt: skip
    inner.state.resources = app.state.resources
    return inner


async def start(app: Starlette, secret: str) -> VideoRoute:
    """For a worker whose `app` has started: its listener up, its studio's streams recorded
    and kept, and `app` forwarding what another worker holds. `close` it after `app`."""
    found: Resources = app.state.resources
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    route = VideoRoute(found.service.book.client, found.studio, secret,
                       f"127.0.0.1:{sock.getsockname()[1]}")  # fmt: skip
    config = uvicorn.Config(_internal_app(app, secret), log_level="warning", lifespan="off",
                            timeout_graceful_shutdown=1)  # fmt: skip
    route.listener = _Listener(config)
    route.tasks = [asyncio.create_task(route.listener.serve([sock])),
                   asyncio.create_task(route._refreshing())]  # fmt: skip
    found.studio.on_held = route.held
    app.state.video_route = route
    await route.refresh()  # a stream published before the route was up
    return route
