"""`/ws/lots/{lot}` and `/ws/openings/{opening}`: one connection's life, hello to close.

A connection says `hello` (with a token to act, with `since` to catch up), gets `welcome`,
then every event after `since` from the log, then live events from the hub, with no gap and
no duplicate: the hub subscription is confirmed before the log is read, and live events up
to what the log gave are dropped by `seq`. Frames are read one at a time, so a client's own
commands are decided in the order it sent them. Every frame that acts checks that this
session is still the bidder's current one; rates, frame sizes, origins and the number of
connections are limited (see `server/limits.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any
from urllib.parse import urlsplit

import structlog
from starlette.websockets import WebSocket

from auction.audience import STAFF, bidder_answer
from auction.errors import (
    BadMessage,
    Forbidden,
    NotFound,
    OpenBidError,
    ServerBusy,
    StoreUnavailable,
)
from server.http import MAX_SEQ, STORE_ERRORS
from server.limits import Bucket
from server.openings import refusal
from server.resume import replay
from server.rooms import Rooms
from server.service import Service
from server.venues import Venue
from server.wsproto import RAW_EXTENSION, RawWebSocketProtocol
from streaming.codec import JSON, Close, Codec, negotiate
from streaming.hub import Hub
from streaming.outbox import Frame, Outbox

__all__ = ["lot_socket", "opening_socket"]

log = structlog.get_logger("openbid.ws")


class Connection:
    """One client: implements the hub's Member."""

    def __init__(
        self, ws: WebSocket, codec: Codec, lot_id: str, service: Service, venue: Venue
    ) -> None:
        self.ws, self.codec, self.lot_id, self.service = ws, codec, lot_id, service
        self.venue = venue  # a lot or an opening; `lot_id` is either's id
        self.address = ws.client.host if ws.client else ""
        self.role = "public"
        self.plate: str | None = None
        self.bidder_id: str | None = None
        self.session = secrets.token_hex(8)
        self.language = ws.headers.get("accept-language")
        raw = ws.scope.get("extensions", {}).get(RAW_EXTENSION)
        self.raw: RawWebSocketProtocol | None = raw  # write frames straight to the socket
        self.outbox: Outbox | None = None  # only without the raw transport
        if raw is None:
            self.outbox = Outbox(self._send, service.limits.queue, self._overflowed)
        self.frames = Bucket(service.limits.frames_per_s, service.limits.frame_burst)
        self.last = -1  # the last seq handed to the client; later ones only
        self.held: list[tuple[int, Frame, bytes]] | None = []  # live events during the replay
        self.done = False  # closing: no more frames out, no more commands in
        self.close_code, self.close_reason = 1000, ""
        self.client_gone = False  # no close frame to send
        self.receiving = False  # the task waits for the client's next frame
        self.task: asyncio.Task[Any] | None = None  # the ASGI task serving this connection
        self.counted = False  # in the connections gauge
        self.writer: asyncio.Task[None] | None = None

    # ---- what the hub calls ----------------------------------------------------------

    def deliver(self, seq: int, payload: Frame, wire: bytes) -> None:
        if seq <= self.last:
            return
        if self.held is not None:
            self.held.append((seq, payload, wire))
            if len(self.held) > self.service.limits.queue:
                self._overflowed()
            return
        self.last = seq
        self._emit(payload, wire)

    def _emit(self, payload: Frame, wire: bytes | None = None) -> None:
        """Queue a frame without waiting; a client too far behind is dropped."""
        raw = self.raw
        if raw is None:
            assert self.outbox is not None
            self.outbox.put(payload)
            return
        if raw.close_sent or raw.transport.is_closing() or self.done:
            return
        if raw.transport.get_write_buffer_size() > self.service.limits.send_buffer:
            return self._overflowed()
        raw.transport.write(wire if wire is not None else self.codec.wire(payload))

    def replaced(self) -> None:
        self.finish(Close.REPLACED, "signed in elsewhere")

    def _overflowed(self) -> None:
        self.service.metrics.queue_drops.inc()
        self.finish(Close.TOO_SLOW, "fell behind; reconnect with since")

    def finish(self, code: int, reason: str) -> None:
        """Close this connection: at once if it is waiting for a frame, else once the
        command in hand is answered."""
        if not self.done:
            self.close_code, self.close_reason = code, reason
            self.done = True
            if self.receiving and self.task is not None:
                self.task.cancel()

    # ---- sending ---------------------------------------------------------------------

    async def _send(self, frame: Frame) -> None:
        """Send now, waiting while the socket is full: for the welcome and the replay."""
        if self.raw is not None:
            await self.raw.writable.wait()
            if not (self.raw.close_sent or self.raw.transport.is_closing()):
                self.raw.transport.write(self.codec.wire(frame))
        elif isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_text(frame)

    async def reply(self, message: dict[str, Any]) -> None:
        """A direct answer to this client, in order with its events."""
        frame = self.codec.encode(message)
        if self.held is None:
            self._emit(frame)
        else:
            await self._send(frame)

    async def error(self, error: OpenBidError, **extra: Any) -> None:
        self.service.metrics.bad_frame(error.code)
        body = error.to_dict(self.language) | extra
        await self.reply({"type": "error", **body, **await self._stamped()})

    async def _nack(self, about: dict[str, Any], error: OpenBidError) -> None:
        self.service.metrics.bad_frame(error.code)
        body = error.to_dict(self.language)
        await self.reply({"type": "nack", **about, **body, **await self._stamped()})

    async def _stamped(self) -> dict[str, int]:
        """`server_now`, or nothing while the store cannot be reached."""
        try:
            return {"server_now": await self._now()}
        except STORE_ERRORS:
            return {}

    async def _now(self) -> int:
        return await self.service.book.server_time()

    # ---- hello -----------------------------------------------------------------------

    async def hello(self, hub: Hub, message: dict[str, Any]) -> None:
        """Authenticate, join the hub, welcome, replay since `since`, then go live."""
        token, since = message.get("token"), message.get("since")
        if token is not None and not isinstance(token, str):
            raise BadMessage("token", "须为文本", "must be a string")
        if since is not None and (type(since) is not int or not 0 <= since <= MAX_SEQ):
            raise BadMessage("since", "须为非负整数", "must be a non-negative integer")
        await self._authenticate(token)
        rooms: Rooms = self.ws.app.state.rooms
        if not rooms.welcome(self):
            raise ServerBusy()
        await hub.join(self.lot_id, self)
        snapshot, floor = await self.venue.snapshot(self.lot_id, self.bidder_id)
        if self.role in STAFF:  # staff count in the audit log; everyone else publicly (R5)
            snapshot["seq"] = floor
        welcome = {"type": "welcome", "role": self.role, "seq": snapshot["seq"]}
        welcome[self.venue.name] = snapshot
        if self.plate is not None:
            welcome |= {"plate": self.plate, "bidder_id": self.bidder_id}
        await self._send(self.codec.encode(welcome | {"server_now": snapshot["server_now"]}))
        if since is not None:
            who, now = (self.role, self.plate), snapshot["server_now"]
            read = await replay(self.service.book, self.lot_id, who, since, self.codec, now,
                                self._send)  # fmt: skip
            floor = max(floor, read)
        self.last = floor
        held, self.held = self.held or [], None
        for seq, payload, wire in held:
            self.deliver(seq, payload, wire)

    async def _authenticate(self, token: str | None) -> None:
        service = self.service
        if token is None:
            if not await self.venue.exists(self.lot_id):
                raise NotFound(self.venue.name)
        elif (staff := service.staff_role(token)) is not None:
            self.role = staff
            if not await self.venue.exists(self.lot_id):
                raise NotFound(self.venue.name)
        else:
            self.bidder_id, self.plate = await self.venue.bidder(self.lot_id, token)
            self.role = "bidder"
            await service.claim_session(self.lot_id, self.bidder_id, self.session)
            hub: Hub = self.ws.app.state.hub
            await hub.kick(self.lot_id, self.bidder_id, self.session)

    # ---- commands --------------------------------------------------------------------

    async def command(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "ping":
            t = message.get("t")
            if type(t) not in (int, float):
                raise BadMessage("t", "须为数字", "must be a number")
            await self.reply({"type": "pong", "t": t, "server_now": await self._now()})
        elif kind in self.venue.commands:
            await self._act(kind, message)
        elif kind == "hello":
            raise BadMessage("type", "已经 hello 过了", "hello was already said")
        else:
            raise BadMessage("type", "未知的消息类型", "unknown message type")

    async def _act(self, kind: str, message: dict[str, Any]) -> None:
        bid_id = message.get("bid_id") if kind == "bid" else None
        about = {"bid_id": bid_id} if kind == "bid" else {"command": kind}
        try:
            if self.role == "public":
                raise Forbidden()
            current = self.bidder_id is None or await self.service.session_is_current(
                self.lot_id, self.bidder_id, self.session
            )
            if not current:
                self.replaced()
                return
            answer = await self.venue.act(self.lot_id, kind, message, self.role, self.bidder_id)
        except OpenBidError as error:
            return await self._nack(about, error)
        except STORE_ERRORS:  # decided or not, unknown: the same bid_id again will say
            return await self._nack(about, StoreUnavailable())
        if self.role not in STAFF:
            answer = bidder_answer(answer)
        if answer.get("accepted"):
            shown = {k: v for k, v in answer.items() if k != "accepted"}
            await self.reply({"type": "ack", **about, **shown})
        else:  # a refusal: its own seq and time go along
            shown = {k: v for k, v in answer.items() if k not in ("accepted", "code")}
            body = refusal(answer).to_dict(self.language)
            await self.reply({"type": "nack", **about, **body, **shown})


def _origin_allowed(ws: WebSocket, allowed: tuple[str, ...]) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:  # not a browser: browsers always send Origin on a WebSocket
        return True
    return urlsplit(origin).netloc == ws.headers.get("host") or origin in allowed


async def lot_socket(ws: WebSocket) -> None:
    await _room_socket(ws, ws.app.state.venues["lot"], ws.path_params["lot"])


async def opening_socket(ws: WebSocket) -> None:
    await _room_socket(ws, ws.app.state.venues["opening"], ws.path_params["opening"])


async def _room_socket(ws: WebSocket, venue: Venue, venue_id: str) -> None:
    service: Service = ws.app.state.service
    rooms: Rooms = ws.app.state.rooms
    offered = ws.scope.get("subprotocols") or []
    codec = negotiate(offered) if offered else JSON
    if codec is None or not _origin_allowed(ws, service.limits.origins):
        await ws.close(Close.POLICY)  # before accept: the handshake gets 403
        return
    await ws.accept(subprotocol=codec.subprotocol if offered else None)
    conn = Connection(ws, codec, venue_id, service, venue)
    refused = rooms.refusal(conn.address)
    if refused is not None:
        await ws.close(*refused)
        return
    rooms.enter(conn)
    try:
        await _serve(conn, ws.app.state.hub)
    finally:
        rooms.leave(conn)


async def _serve(conn: Connection, hub: Hub) -> None:
    """Read in this (the ASGI) task until the client leaves or `finish` is called; no
    second task per connection, which is memory at thousands of viewers."""
    task = conn.task = asyncio.current_task()
    try:
        await _read(conn, hub)
    except asyncio.CancelledError:
        if not conn.done or task is None:
            raise  # cancelled from outside: not ours to swallow
        task.uncancel()  # `finish` interrupted a wait for the next frame
    finally:
        conn.task = None
        hub.leave(conn.lot_id, conn)
        if conn.counted:
            conn.service.metrics.connections.labels(conn.role).dec()
        await _close(conn)


class _Gone(Exception):
    """The client closed its side."""


async def _read(conn: Connection, hub: Hub) -> None:
    with contextlib.suppress(_Gone):
        await _converse(conn, hub)


async def _converse(conn: Connection, hub: Hub) -> None:
    """Hello first, then one command at a time until the client leaves or `done`."""
    limits, metrics = conn.service.limits, conn.service.metrics
    try:
        async with asyncio.timeout(limits.hello_timeout_s):
            first = await _receive(conn)
        message = conn.codec.decode(first)
        if message["type"] != "hello":
            raise BadMessage("type", "第一条消息须为 hello", "the first message must be hello")
        await conn.hello(hub, message)
    except OpenBidError as error:
        await conn.error(error)
        code = Close.NO_HELLO if isinstance(error, BadMessage) else error.ws_close
        return conn.finish(code, error.code)
    except STORE_ERRORS:  # no welcome without the store: try again later
        await conn.error(StoreUnavailable())
        return conn.finish(Close.TRY_LATER, "STORE_UNAVAILABLE")
    except TimeoutError:
        return conn.finish(Close.NO_HELLO, "no hello")
    metrics.connections.labels(conn.role).inc()
    conn.counted = True
    if conn.outbox is not None:  # plain ASGI: one task drains the outbox
        conn.writer = asyncio.create_task(conn.outbox.run())
        conn.writer.add_done_callback(lambda task: _writer_done(conn, task))
    while not conn.done:
        frame = await _receive(conn)
        if not conn.frames.take():
            metrics.bad_frame("RATE_LIMITED")
            continue  # dropped unread: a flood gets no answer to amplify it
        try:
            await conn.command(conn.codec.decode(frame))
        except OpenBidError as error:
            await conn.error(error)
        except STORE_ERRORS:  # the connection stays: the client resends when it is back
            await conn.error(StoreUnavailable())


async def _receive(conn: Connection) -> bytes | str | None:
    conn.receiving = True
    try:
        message = await conn.ws.receive()
    finally:
        conn.receiving = False
    if message["type"] == "websocket.disconnect":
        conn.client_gone = True
        conn.finish(message.get("code", 1000), "client left")
        raise _Gone
    frame: bytes | str | None = message.get("bytes")
    return frame if frame is not None else message.get("text")


def _writer_done(conn: Connection, task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:  # the socket broke mid-send
        conn.client_gone = True
        conn.finish(1006, "send failed")


async def _close(conn: Connection) -> None:
    """Send what is queued (unless the client fell behind), then the close frame."""
    grace = conn.service.limits.hello_timeout_s
    if conn.writer is not None and not conn.writer.done():
        if conn.close_code == Close.TOO_SLOW:
            conn.writer.cancel()  # what it holds is stale; the client resumes with since
        else:
            assert conn.outbox is not None
            conn.outbox.close()
        with contextlib.suppress(Exception, asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(grace):
                await conn.writer
    if not conn.client_gone:
        conn.service.metrics.closes.labels(str(conn.close_code)).inc()
        with contextlib.suppress(Exception, TimeoutError):
            async with asyncio.timeout(grace):
                await conn.ws.close(conn.close_code, conn.close_reason)
    log.info("ws closed", lot=conn.lot_id, role=conn.role, plate=conn.plate,
             code=conn.close_code, reason=conn.close_reason)  # fmt: skip
