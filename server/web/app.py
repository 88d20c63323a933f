"""`create_app()`: the Starlette application and the lifespan that owns its resources: the
Redis clients, the bid book's scripts, the chainer, the timer, the fan-out hub and the open
WebSockets. `Server` is uvicorn's server with a shutdown that says "going away" first."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from auction.checkpoint import Signer
from auction.errors import StoreUnavailable
from server.documents import DocumentSigner
from server.limits import Limits
from server.metrics import Metrics
from server.pauses import Pauses
from server.services.anchoring import INTERVAL_S, Anchoring
from server.services.documents import Documents
from server.services.lots import LotService
from server.services.money import MoneyService
from server.services.openings import OpeningService
from server.services.parties import PartyService
from server.services.signals import Signals
from server.services.timer import Timer
from server.services.venues import LotVenue, OpeningVenue
from server.store.acks import Acks
from server.store.errors import STORE_ERRORS
from server.store.lots import LotBook
from server.store.openings import OpeningBook
from server.store.sentinels import is_sentinel, primary_of
from server.web.api import Operation, openapi
from server.web.common import EXCEPTION_HANDLERS, Resources, resources, token_of
from server.web.documents import document_operations
from server.web.durable import DurableWrites
from server.web.hall import hall_operations
from server.web.headers import SecurityHeaders
from server.web.httpproto import guarded_http
from server.web.livestream import webrtc_operations
from server.web.lots import lot_operations
from server.web.money import money_operations
from server.web.openapi import openapi_operations
from server.web.openings import opening_operations
from server.web.pages import page_operations, static
from server.web.parties import party_operations
from server.web.signals import signal_operations
from server.web.staff import staff_operations
from server.web.transparency import transparency_operations
from streaming.rooms.connection import Rooms, serve
from streaming.rooms.doors import Doors
from streaming.rooms.hub import Hub
from streaming.rooms.ports import Venue
from streaming.rooms.raw import RawWebSocketProtocol
from streaming.video.studio import Studio

__all__ = [
    "POOL_SIZE", "TLS", "WORKER_HEADER", "Server", "connect", "create_app", "metrics_app",
    "server_config",
]  # fmt: skip

TLS = tuple[str, str]  # the certificate chain's and the key's PEM files
POOL_SIZE = 64  # concurrent commands wait for a connection rather than fail
SHUTDOWN_GRACE_S = 10.0
WORKER_HEADER = "x-openbid-worker"  # which of `--workers` answered


async def connect(url: str) -> Redis | RedisCluster:
    """A client for `url`, a cluster client when the server says it is in a cluster; for a
    `sentinel://` URL (server/store/sentinels.py), the primary the Sentinels name, followed
    through a failover."""
    if is_sentinel(url):
        return primary_of(url, max_connections=POOL_SIZE)
    client = Redis(connection_pool=BlockingConnectionPool.from_url(url, max_connections=POOL_SIZE))
    info = await client.info("cluster")
    if info.get("cluster_enabled"):
        await client.aclose()
        return RedisCluster.from_url(url)
    return client


def subscriber(client: Redis | RedisCluster, url: str) -> Redis:
    """A plain client for pub/sub: on a cluster, classic PUBLISH reaches every node, so any
    one node will do."""
    if isinstance(client, RedisCluster):
        node = client.get_default_node()
        return Redis(host=node.host, port=int(node.port))
    if is_sentinel(url):
        return primary_of(url)
    return Redis.from_url(url)


async def metrics(request: Request) -> Response:
    """Prometheus text, for the staff or whoever holds the metrics token: the counts say
    how many bids, refusals and connections there are, which the rules may keep secret."""
    service = resources(request).service
    await service.desk.require_metrics_reader(token_of(request))
    return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")


def metrics_app(app: Starlette) -> Starlette:
    """`app`'s `/metrics` and nothing else, for a port of its own (`openbid serve
    --metrics-port`): with several workers on one port a scrape would reach any one of
    them, so each also answers here, on the base port plus its index. The same readers as
    the main port's `/metrics`; no other route, so it is no second way into the app. Make
    it once `app` has started (it shares the started app's resources)."""
    only = Starlette(routes=[Route("/metrics", metrics)], exception_handlers=EXCEPTION_HANDLERS)
    only.state.resources = app.state.resources
    return only


def create_app(
    redis_url: str,
    admin_token: str,
    *,
    timer: bool = True,
    limits: Limits | None = None,
    data_dir: Path = Path("openbid-data"),
    supervisor_token: str | None = None,
    metrics_token: str | None = None,
    sealing_secret: bytes | None = None,
    log_signer: Signer | None = None,
    document_signer: DocumentSigner | None = None,
    tsa_url: str | None = None,
    anchor_interval_s: float = INTERVAL_S,
    worker: int = 0,
    ack_replicas: int = 0,
) -> Starlette:
    """The app; it connects on startup. `timer=False` is for tests that drive time (no
    background work then: no deadlines passed, no checkpoints signed but on demand);
    `data_dir` holds the livestream recordings; `supervisor_token` (监督) reads what the
    admin reads and changes nothing; `metrics_token` reads `/metrics` only (a scraper's);
    `sealing_secret` seals and opens sealed lots' bids (every process on one store must hold
    the same; by default one is made for this app alone); `log_signer` signs the
    transparency log's checkpoints (the same rule; by default one made for this app);
    `document_signer` signs the PDFs (by default the data dir's key and certificate);
    `tsa_url`, an RFC 3161 time-stamping authority, anchors a checkpoint once every
    `anchor_interval_s` at most (server/services/anchoring.py); `worker`, this process's
    index among `openbid serve --workers` (server/workers.py), is told in `/api/health`;
    `ack_replicas`: writes are acknowledged once that many replicas' AOF hold them
    (server/store/acks.py)."""
    sealing_secret = sealing_secret or secrets.token_bytes(32)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = await connect(redis_url)
        if isinstance(client, RedisCluster):
            await client.initialize()
        book = LotBook(client, sealing_secret, Acks(client, ack_replicas))
        with contextlib.suppress(StoreUnavailable, *STORE_ERRORS):
            await book.acks.barrier()  # the primary, known before any request writes
        service = LotService(book, admin_token, limits, Metrics(), supervisor_token, log_signer)
        service.desk.metrics_token = metrics_token
        await service.transparency.check_key()
        openings = OpeningService(
            OpeningBook(client, book.acks),
            service.logs,
            service.chainer,
            service.hall,
            service.limits,
            service.within_rate,
            service.transparency.receipt,
        )
        openings.signatures = service.signatures  # one cache of bidders' keys
        listener = subscriber(client, redis_url)
        hub = Hub(listener, service.logs, service.metrics)
        rooms = Rooms(
            hub=hub, doors=Doors(service.limits), feed=service.logs, limits=service.limits,
            gauges=service.metrics, unavailable=STORE_ERRORS,
        )  # fmt: skip
        signals = Signals(service, openings)
        found = app.state.resources = Resources(
            service=service, openings=openings, lot_venue=LotVenue(service, signals),
            opening_venue=OpeningVenue(service, openings, signals), rooms=rooms,
            studio=Studio(data_dir), signals=signals,
            documents=Documents(
                service, openings, document_signer or DocumentSigner.kept(data_dir)
            ), parties=(parties := PartyService(service, openings)),
            money=MoneyService(service, parties),
        )  # fmt: skip
        # before the timing: its first pass comes before any client can connect
        pauses = Pauses.started(service.metrics, lambda: len(rooms.doors.open))
        openings.live = found.studio.live  # the snapshot's `live`, and the room told at once:
        found.studio.on_live = rooms.hub.announce  # no page asks for a stream not there
        gc.callbacks.append(service.metrics.time_gc)
        clock = Timer(service.book, service.chainer.poke, openings)
        task = asyncio.create_task(clock.run()) if timer else None
        signing = asyncio.create_task(service.transparency.run()) if timer else None
        anchoring = None
        if timer and tsa_url:
            anchorer = Anchoring(service.transparency, tsa_url, service.metrics, anchor_interval_s)
            anchoring = asyncio.create_task(anchorer.run())
        try:
            yield
        finally:
            gc.callbacks.remove(service.metrics.time_gc)
            if pauses is not None:
                await pauses.stop()
            await rooms.doors.shutdown(SHUTDOWN_GRACE_S)
            await found.studio.close()
            if task is not None:
                clock.stop()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, SHUTDOWN_GRACE_S)
            await hub.close()
            await service.chainer.close()
            await signals.traces.written()
            for background in (signing, anchoring):
                if background is not None:
                    background.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await background
            await listener.aclose()
            await client.aclose()

    app = App(routes=[*(op.route() for op in OPERATIONS), static], lifespan=lifespan,
              middleware=[Middleware(SecurityHeaders), Middleware(DurableWrites)],
              exception_handlers=EXCEPTION_HANDLERS)  # fmt: skip
    app.state.openapi = openapi(OPERATIONS)
    app.state.worker = worker
    return app


OPERATIONS = [
    *lot_operations, *hall_operations, *opening_operations, *webrtc_operations,
    *page_operations, *openapi_operations, *transparency_operations, *staff_operations,
    *document_operations, *party_operations, *signal_operations, *money_operations,
    Operation(method="GET", path="/metrics", handler=metrics, summary="Prometheus metrics",
              auth="metrics", media="text/plain", errors=("UNAUTHORIZED", "FORBIDDEN")),
]  # fmt: skip
ROOMS = {"lots": "lot", "openings": "opening"}  # /ws/{kind}/{id}: the venue


class App(Starlette):
    """Starlette, except that a room's WebSocket (`/ws/lots/{lot}`, `/ws/openings/{id}`)
    goes straight to its handler. Through the router and the middleware it would keep about
    a dozen suspended coroutines and their closures for its whole life: a fifth of an idle
    viewer's memory, and objects that every full pass of the cycle collector walks. Every
    other request, and the lifespan, goes through Starlette."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parts = scope["path"].split("/") if scope["type"] == "websocket" else []
        if len(parts) == 4 and parts[:2] == ["", "ws"] and parts[2] in ROOMS and parts[3]:
            found: Resources = self.state.resources
            venue: Venue = found.lot_venue if parts[2] == "lots" else found.opening_venue
            scope["app"], scope["path_params"] = self, {ROOMS[parts[2]]: parts[3]}
            await serve(WebSocket(scope, receive, send), found.rooms, venue, parts[3])
            return
        await super().__call__(scope, receive, send)


def server_config(
    app: Starlette, host: str, port: int, limits: Limits | None = None, tls: TLS | None = None,
    worker: int | None = None,
) -> Any:  # fmt: skip
    """uvicorn's settings: the websockets sans-I/O protocol (the stack's `websockets`, with
    no extra task per frame) letting the fan-out write whole frames (streaming/rooms/raw.py); no
    per-message compression (binary frames don't shrink and deflate costs CPU per viewer);
    client frames capped at `limits.max_frame`; a deadline for each request's head
    (server/web/httpproto.py); HTTPS with `tls`, a certificate chain and its key (PEM files);
    with `worker`, one of several processes on the port, an `x-openbid-worker` header on every
    response, the WebSocket handshake's included, says which one answered."""
    limits = limits or Limits()
    headers = [(WORKER_HEADER, str(worker))] if worker is not None else []
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", ws=RawWebSocketProtocol,
        http=guarded_http(limits.header_timeout_s), ws_max_size=limits.max_frame,
        ws_per_message_deflate=False, ws_ping_interval=limits.ping_interval_s,
        ws_ping_timeout=limits.ping_interval_s, timeout_graceful_shutdown=int(SHUTDOWN_GRACE_S),
        lifespan="on", ssl_certfile=tls and tls[0], ssl_keyfile=tls and tls[1],
        headers=headers,
    )  # fmt: skip


class Server(uvicorn.Server):
    """On SIGTERM, close every WebSocket with 1001 "going away" (after answering the
    command in hand) before uvicorn's own shutdown, which would say 1012."""

    def __init__(
        self, app: Starlette, host: str, port: int, limits: Limits | None = None,
        tls: TLS | None = None, worker: int | None = None,
    ):  # fmt: skip
        super().__init__(server_config(app, host, port, limits, tls, worker))
        self.app = app

    async def shutdown(self, sockets: Any = None) -> None:
        for server in self.servers:
            server.close()  # no new connections while the rooms empty
        found = getattr(self.app.state, "resources", None)
        if isinstance(found, Resources):
            await found.rooms.doors.shutdown(SHUTDOWN_GRACE_S)
        await super().shutdown(sockets)
