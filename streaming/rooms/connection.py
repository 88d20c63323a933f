"""`/ws/lots/{lot}` and `/ws/openings/{opening}`: one connection's life, hello to close.

A connection says `hello` (with a token to act, with `since` to catch up), gets `welcome`,
then every event after `since` from the log, then live events from the hub, with no gap and
no duplicate: the hub subscription is confirmed before the log is read, and live events up
to what the log gave are dropped by `seq` (the decisions are `session.py`'s; this module
does the I/O). Frames are read one at a time, so a client's own commands are decided in the
order it sent them. Every frame that acts checks that this session is still the bidder's
current one; rates, frame sizes, origins and the number of connections are limited (the
numbers are the server's `Limits`).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from auction.audience import STAFF
from auction.errors import (
    BadMessage,
    Forbidden,
    NotFound,
    OpenBidError,
    ServerBusy,
    StoreUnavailable,
)
from auction.signals import Seen
from streaming.rooms.bucket import Bucket
from streaming.rooms.doors import Doors
from streaming.rooms.ends import end, origin_allowed, writer_done
from streaming.rooms.hub import Hub
from streaming.rooms.outbox import Outbox, Payload
from streaming.rooms.ports import Feed, Gauges, RoomLimits, Venue
from streaming.rooms.raw import RAW_EXTENSION, RawWebSocketProtocol
from streaming.rooms.replay import replay
from streaming.rooms.session import OVERFLOW, Session
from streaming.rooms.wire import JSON, Close, Codec, negotiate

__all__ = ["Connection", "Rooms", "serve"]

WELCOMING = 16  # public hellos in the store at once, per process (the pool has 64)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rooms:
    """What every room connection of a process shares."""

    hub: Hub
    doors: Doors
    feed: Feed
    limits: RoomLimits
    gauges: Gauges
    unavailable: tuple[type[Exception], ...]  # the store's errors: "not now, try again"
    # Public hellos reading the store at once. A crowd arriving would otherwise queue
    # thousands of reads on the store's connection pool, whose wait is bounded (redis-py's
    # 20 s): a viewer past it was refused 1013 STORE_UNAVAILABLE, and the timer and the
    # bidders waited behind the crowd. Here the crowd waits in line, in order, for ever.
    welcoming: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(WELCOMING))


class Connection:
    """One client: implements the hub's Member. Slotted, and what a public viewer does
    not use is not made: thousands of idle viewers each keep one of these."""

    __slots__ = (
        "address", "bidder_id", "client_gone", "close_code", "close_reason", "codec",
        "counted", "device", "done", "frames", "language", "notice", "outbox", "plate", "protocol",
        "raw", "receiving", "role", "rooms", "session", "task", "venue", "venue_id", "writer",
        "ws",
    )  # fmt: skip

    def __init__(
        self, ws: WebSocket, codec: Codec, venue_id: str, venue: Venue, rooms: Rooms
    ) -> None:
        self.codec, self.venue_id, self.venue, self.rooms = codec, venue_id, venue, rooms
        self.address = ws.client.host if ws.client else ""
        self.device: str | None = None  # a bidder's page's, from its hello (collusion signals)
        self.role = "public"
        self.plate: str | None = None
        self.bidder_id: str | None = None
        self.session = ""  # a bidder's own, made when it signs in (`_authenticate`)
        self.protocol: Session[tuple[Payload, bytes | None]] = Session(  # its decisions
            rooms.limits.queue, venue.commands
        )
        self.language = ws.headers.get("accept-language")
        raw = ws.scope.get("extensions", {}).get(RAW_EXTENSION)
        self.raw: RawWebSocketProtocol | None = raw  # write frames straight to the socket
        self.ws: WebSocket | None = None  # only without the raw transport, as its outbox
        self.outbox: Outbox | None = None
        if raw is None:
            self.ws = ws
            self.outbox = Outbox(self._send, rooms.limits.queue, self._overflowed)
        self.frames: Bucket | None = None  # made at the first command (full, as at the start)
        self.done = False  # closing: no more frames out, no more commands in
        self.close_code, self.close_reason = 1000, ""
        self.client_gone = False  # no close frame to send
        self.receiving = False  # the task waits for the client's next frame
        self.task: asyncio.Task[Any] | None = None  # the ASGI task serving this connection
        self.counted = False  # in the connections gauge
        self.writer: asyncio.Task[None] | None = None
        self.notice: dict[str, Any] | None = None  # a hub notice that came before going live

    # ---- what the hub calls ----------------------------------------------------------

    def deliver(self, seq: int, payload: Payload, wire: bytes) -> None:
        out = self.protocol.arrive(seq, (payload, wire))
        if out == OVERFLOW:
            self._overflowed()
        elif out is not None:
            self._emit(*out)

    def _emit(self, payload: Payload, wire: bytes | None = None, answer: bool = False) -> None:
        """Queue a frame without waiting; a client too far behind is dropped. Once the
        connection is finishing only the `answer` to its command in hand still goes out."""
        raw = self.raw
        if raw is None:
            assert self.outbox is not None
            self.outbox.put(payload)
            return
        if raw.close_sent or raw.transport.is_closing() or (self.done and not answer):
            return
        if raw.unsent() > self.rooms.limits.send_buffer:
            return self._overflowed()
        # queued: this turn's frames to this client leave in one write (raw.py)
        raw.write_frame(wire if wire is not None else self.codec.wire(payload))

    def replaced(self) -> None:
        self.finish(Close.REPLACED, "signed in elsewhere")

    def notify(self, payload: dict[str, Any]) -> None:
        if self.protocol.held is None:
            self._emit(self.codec.encode(payload))
        else:  # not live yet: it follows the welcome, which comes first
            self.notice = payload

    def _overflowed(self) -> None:
        self.rooms.gauges.queue_drops.inc()
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

    async def _send(self, frame: Payload) -> None:
        """Send, waiting while the socket is full: for the welcome and the replay (on the
        raw transport the frame joins this turn's one write)."""
        if self.raw is not None:
            await self.raw.writable.wait()
            if not (self.raw.close_sent or self.raw.transport.is_closing()):
                self.raw.write_frame(self.codec.wire(frame))  # in order with `_emit`'s
            return
        assert self.ws is not None
        if isinstance(frame, bytes):
            await self.ws.send_bytes(frame)
        else:
            await self.ws.send_text(frame)

    async def receive(self) -> dict[str, Any]:
        """The client's next ASGI message, awaited so that `finish` can interrupt it."""
        self.receiving = True
        try:
            if self.raw is not None:
                message: dict[str, Any] = await self.raw.receive()
                return message
            assert self.ws is not None
            return dict(await self.ws.receive())
        finally:
            self.receiving = False

    async def close(self) -> None:
        """Send the close frame (after the frames queued on the raw transport)."""
        if self.raw is not None:
            message = {"type": "websocket.close", "code": self.close_code}
            await self.raw.send(message | {"reason": self.close_reason})
        elif self.ws is not None:
            await self.ws.close(self.close_code, self.close_reason)

    async def reply(self, message: dict[str, Any]) -> None:
        """A direct answer to this client, in order with its events."""
        frame = self.codec.encode(message)
        if self.protocol.held is None:
            self._emit(frame, answer=True)
        else:
            await self._send(frame)

    async def error(self, error: OpenBidError, **extra: Any) -> None:
        self.rooms.gauges.bad_frame(error.code)
        body = error.to_dict(self.language) | extra
        await self.reply({"type": "error", **body, **await self._stamped()})

    async def _nack(self, about: dict[str, Any], error: OpenBidError) -> None:
        self.rooms.gauges.bad_frame(error.code)
        body = error.to_dict(self.language)
        await self.reply({"type": "nack", **about, **body, **await self._stamped()})

    async def _stamped(self) -> dict[str, int]:
        """`server_now`, or nothing while the store cannot be reached."""
        try:
            return {"server_now": await self.venue.server_time()}
        except self.rooms.unavailable:
            return {}

    # ---- hello -----------------------------------------------------------------------

    async def hello(self, message: dict[str, Any]) -> None:
        """Authenticate, join the hub, welcome, replay since `since`, then go live."""
        said = Session.hello(message)
        self.device = said.device if said.token is not None else None  # a viewer's: unused
        if said.token is None:  # counted in, then in line with the crowd for the store
            self._take_place()
            async with self.rooms.welcoming:
                snapshot, floor = await self._join(said.token)
        else:
            snapshot, floor = await self._join(said.token)
        if self.role in STAFF:  # staff count in the audit log; everyone else publicly (R5)
            snapshot["seq"] = floor
        welcome = {"type": "welcome", "role": self.role, "seq": snapshot["seq"]}
        welcome[self.venue.name] = snapshot
        if self.plate is not None:
            welcome |= {"plate": self.plate, "bidder_id": self.bidder_id}
        await self._send(self.codec.encode(welcome | {"server_now": snapshot["server_now"]}))
        if said.since is not None:
            who, now = (self.role, self.plate), snapshot["server_now"]
            read = await replay(self.rooms.feed, self.venue_id, who, said.since, self.codec,
                                now, self._send)  # fmt: skip
            floor = max(floor, read)
        for payload, wire in self.protocol.go_live(floor):
            self._emit(payload, wire)
        if self.notice is not None:
            self._emit(self.codec.encode(self.notice))
            self.notice = None

    async def _join(self, token: str | None) -> tuple[dict[str, Any], int]:
        """Sign in (and with a token take a place), join the hub: the snapshot and the
        audit seq it reflects."""
        await self._authenticate(token)
        if token is not None:
            self._take_place()
        await self.rooms.hub.join(self.venue_id, self)
        return await self.venue.snapshot(self.venue_id, self.bidder_id)

    def _take_place(self) -> None:
        """Counted in by the doors (no longer a socket before hello), or ServerBusy."""
        if not self.rooms.doors.welcome(self):
            raise ServerBusy()

    async def _authenticate(self, token: str | None) -> None:
        venue = self.venue
        if token is None:
            if not await venue.exists(self.venue_id):
                raise NotFound(venue.name)
        elif (staff := await venue.staff_role(token)) is not None:
            self.role = staff
            if not await venue.exists(self.venue_id):
                raise NotFound(venue.name)
        else:
            self.bidder_id, self.plate = await venue.bidder(self.venue_id, token)
            self.role, self.session = "bidder", secrets.token_hex(8)
            await venue.claim_session(self.venue_id, self.bidder_id, self.session)
            await self.rooms.hub.kick(self.venue_id, self.bidder_id, self.session)

    # ---- commands --------------------------------------------------------------------

    async def command(self, message: dict[str, Any]) -> None:
        if self.protocol.kind_of(message) == "ping":
            now = await self.venue.server_time()
            await self.reply({"type": "pong", "t": message["t"], "server_now": now})
        else:
            await self._act(message)

    async def _act(self, message: dict[str, Any]) -> None:
        about = Session.about(message)
        try:
            if self.role == "public":
                raise Forbidden()
            current = self.bidder_id is None or await self.venue.session_is_current(
                self.venue_id, self.bidder_id, self.session
            )
            if not current:
                self.replaced()
                return
            kind = message["type"]
            answer = await self.venue.act(self.venue_id, kind, message, self.role,
                self.bidder_id, Seen(self.address, self.device))  # fmt: skip
        except OpenBidError as error:
            return await self._nack(about, error)
        except self.rooms.unavailable:  # decided or not, unknown: the same bid_id again will say
            return await self._nack(about, StoreUnavailable())
        await self.reply(Session.answer(about, answer, self.role, self.language))


async def serve(ws: WebSocket, rooms: Rooms, venue: Venue, venue_id: str) -> None:
    """Serve one room connection, from the handshake to the close. An idle client's task
    waits in this one frame (and the receive under it): no second task per connection, no
    frame more than needed, which at thousands of viewers is memory and collector work."""
    conn = await _accepted(ws, rooms, venue, venue_id)
    del ws  # the connection keeps what it needs of it
    if conn is None:
        return
    rooms.doors.enter(conn)
    task = conn.task = asyncio.current_task()
    try:
        if await _hello(conn):
            while not conn.done:
                await _command(conn, _frame(conn, await conn.receive()))
    except _Gone:
        pass
    except asyncio.CancelledError:
        if not conn.done or task is None:
            raise  # cancelled from outside: not ours to swallow
        task.uncancel()  # `finish` interrupted a wait for the next frame
    finally:
        conn.task = None
        await end(conn)


async def _accepted(ws: WebSocket, rooms: Rooms, venue: Venue, venue_id: str) -> Connection | None:
    """The handshake: the connection, or None when it was refused (and closed)."""
    offered = ws.scope.get("subprotocols") or []
    codec = negotiate(offered) if offered else JSON
    if codec is None or not origin_allowed(ws, rooms.limits.origins):
        await ws.close(Close.POLICY)  # before accept: the handshake gets 403
        return None
    await ws.accept(subprotocol=codec.subprotocol if offered else None)
    conn = Connection(ws, codec, venue_id, venue, rooms)
    if conn.raw is not None:
        conn.raw.release_scope()  # read: the headers and the rest are not kept
    refused = rooms.doors.refusal(conn.address)
    if refused is not None:
        conn.close_code, conn.close_reason = refused
        await conn.close()
        return None
    return conn


class _Gone(Exception):
    """The client closed its side."""


def _frame(conn: Connection, message: dict[str, Any]) -> bytes | str | None:
    """The data of a received message; _Gone when the client left."""
    if message["type"] == "websocket.disconnect":
        conn.client_gone = True
        conn.finish(message.get("code", 1000), "client left")
        raise _Gone
    frame: bytes | str | None = message.get("bytes")
    return frame if frame is not None else message.get("text")


async def _hello(conn: Connection) -> bool:
    """The first frame, a hello within the limit's time: True once welcomed, else False
    and the connection finishing."""
    try:
        async with asyncio.timeout(conn.rooms.limits.hello_timeout_s):
            first = _frame(conn, await conn.receive())
        await conn.hello(conn.codec.decode(first))
    except OpenBidError as error:
        await conn.error(error)
        code = Close.NO_HELLO if isinstance(error, BadMessage) else error.ws_close
        conn.finish(code, error.code)
        return False
    except conn.rooms.unavailable:  # no welcome without the store: try again later
        await conn.error(StoreUnavailable())
        conn.finish(Close.TRY_LATER, "STORE_UNAVAILABLE")
        return False
    except TimeoutError:
        conn.finish(Close.NO_HELLO, "no hello")
        return False
    conn.rooms.gauges.connections.labels(conn.role).inc()
    conn.counted = True
    if conn.outbox is not None:  # plain ASGI: one task drains the outbox
        conn.writer = asyncio.create_task(conn.outbox.run())
        conn.writer.add_done_callback(lambda task: writer_done(conn, task))
    return True


async def _command(conn: Connection, frame: bytes | str | None) -> None:
    """One frame after the hello, within the frame rate."""
    if conn.frames is None:
        conn.frames = Bucket(conn.rooms.limits.frames_per_s, conn.rooms.limits.frame_burst)
    if not conn.frames.take():
        conn.rooms.gauges.bad_frame("RATE_LIMITED")
        return  # dropped unread: a flood gets no answer to amplify it
    try:
        await conn.command(conn.codec.decode(frame))
    except OpenBidError as error:
        await conn.error(error)
    except conn.rooms.unavailable:  # the connection stays: the client resends when it is back
        await conn.error(StoreUnavailable())
