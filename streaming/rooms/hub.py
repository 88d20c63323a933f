"""Fan-out: each server process subscribes once per lot and hands every entry to its local
connections, each shaped for its audience and encoded once per audience and codec.

Members join a room (one per lot). The first member subscribes the process to the lot's
channels and waits for Redis to confirm, so anything published after `join` returns reaches
the member; it reads the log for what came before (see `connection.py`), and `deliver`'s
`seq` lets it drop what it already has. The hub keeps each room gapless: when an entry
arrives past a hole (pub/sub is at most once, a reconnect loses messages) it reads the
hole from the log first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgpack
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from auction.audience import audience, entry_view
from streaming.rooms.outbox import Payload
from streaming.rooms.ports import Feed, Gauges
from streaming.rooms.wire import Codec

__all__ = ["Hub", "Member", "encode_event", "event_message"]

PING_S, SILENT_S = 2.0, 6.0  # a quiet pub/sub is pinged; one silent this long is dropped
GONE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)  # no store
log = logging.getLogger("openbid.hub")


class Member(Protocol):
    """A connection as the hub sees it."""

    role: str  # "public", "bidder", "admin" or "supervisor" (who sees what the admin sees)
    plate: str | None
    bidder_id: str | None
    session: str
    codec: Codec

    def deliver(self, seq: int, payload: Payload, wire: bytes) -> None:
        """Take an event: its payload, and the same as a whole WebSocket frame."""

    def replaced(self) -> None: ...

    def notify(self, payload: dict[str, Any]) -> None:
        """Take a notice that is no log entry (the livestream going live or off)."""


def event_message(view: dict[str, Any], now: int) -> dict[str, Any]:
    return {"type": "event", **view, "server_now": now}


@dataclass(eq=False)
class _Room:
    lot_id: str
    members: set[Member] = field(default_factory=set)
    ready: asyncio.Future[None] = field(default_factory=asyncio.Future)
    last_seq: int = 0  # the last seq handed out (or in the log when the room opened)


class Hub:
    def __init__(self, subscriber: Redis, feed: Feed, metrics: Gauges) -> None:
        self._redis = subscriber
        self._pubsub: PubSub = subscriber.pubsub()
        self._feed = feed
        self._metrics = metrics
        self._rooms: dict[str, _Room] = {}
        self._pending: dict[bytes, _Room] = {}  # channels subscribed, not yet confirmed
        # one SUBSCRIBE at a time: redis-py's PubSub connects on its first command, and two
        # first commands at once would each open a connection and keep only one
        self._subscribing = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def join(self, lot_id: str, member: Member) -> None:
        """Add a member; returns once the process is subscribed to the lot."""
        room = self._rooms.get(lot_id)
        if room is None:
            room = self._rooms[lot_id] = _Room(lot_id)
            for name in self._feed.channels(lot_id):
                self._pending[name.encode()] = room
            async with self._subscribing:
                await self._pubsub.subscribe(*self._feed.channels(lot_id))
            if self._reader is None:
                self._reader = asyncio.create_task(self._read())
            room.members.add(member)
            await asyncio.shield(room.ready)
            # from here on an entry past a hole is noticed, even the room's first
            room.last_seq = max(room.last_seq, await self._feed.last_seq(lot_id))
            return
        room.members.add(member)
        await asyncio.shield(room.ready)

    def leave(self, lot_id: str, member: Member) -> None:
        room = self._rooms.get(lot_id)
        if room is None:
            return
        room.members.discard(member)
        if not room.members and room.ready.done():
            del self._rooms[lot_id]
            task = asyncio.ensure_future(self._pubsub.unsubscribe(*self._feed.channels(lot_id)))
            task.add_done_callback(_log_failure)

    async def kick(self, lot_id: str, bidder_id: str, session: str) -> None:
        """Tell every process that `session` is now the bidder's only session."""
        notice = msgpack.packb({"kick": bidder_id, "session": session})
        await self._redis.publish(self._feed.channels(lot_id)[1], notice)

    async def announce(self, venue_id: str, live: bool) -> None:
        """Tell every process's members of the room that the livestream went live or off:
        a `stream` notice, no log entry (it decides nothing), so a page asks for the video
        only once there is one."""
        notice = msgpack.packb({"stream": live})
        await self._redis.publish(self._feed.channels(venue_id)[1], notice)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    # ---- reading pub/sub -------------------------------------------------------------

    async def _read(self) -> None:
        """Read pub/sub for good. A quiet connection is pinged; one that answers nothing for
        SILENT_S (a store that stopped without closing its sockets, the primary a failover
        left behind) is dropped: redis-py connects again (through the Sentinels, to the
        new primary), subscribes again, and `_confirmed` fills each room from the log."""
        heard = time.monotonic()
        while True:
            try:
                message = await self._pubsub.get_message(timeout=PING_S)
                now = time.monotonic()
                if message is not None:
                    heard = now
                    await self._on_message(message)
                elif now - heard > SILENT_S:
                    heard = now
                    raise ConnectionError(f"pub/sub silent for {SILENT_S:.0f} s")
                elif now - heard > PING_S:
                    await self._pubsub.ping()  # its pong counts as heard
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if isinstance(error, GONE):  # the store down or failing over: one line
                    log.warning("pub/sub read failed (%s); reconnecting", error)
                else:
                    log.exception("pub/sub read failed; reconnecting")
                if self._pubsub.connection is not None:
                    await self._pubsub.connection.disconnect()
                await asyncio.sleep(0.5)  # back off from a failing server

    async def _on_message(self, message: dict[str, Any]) -> None:
        kind, name = message["type"], message["channel"]
        if kind == "subscribe":
            await self._confirmed(name)
        elif kind == "message":
            lot_id, control = self._feed.log_of(name)
            room = self._rooms.get(lot_id)
            if room is None:
                return
            if control:
                self._control(room, message["data"])
            else:
                now, entries = self._feed.decode(message["data"])
                await self._fill(room, entries, now)

    async def _confirmed(self, name: bytes) -> None:
        """A SUBSCRIBE confirmed, matched by channel name; a room is ready once both its
        channels are."""
        room = self._pending.pop(name, None)
        if room is not None:
            if room not in self._pending.values() and not room.ready.done():
                room.ready.set_result(None)
            return
        # not one we asked for: redis-py resubscribed after a reconnect, and whatever was
        # published meanwhile is lost to pub/sub; the log has it
        lot_id, control = self._feed.log_of(name)
        found = self._rooms.get(lot_id)
        if found is not None and found.last_seq and not control:
            await self._fill(found, [], int(time.time() * 1000))

    def _control(self, room: _Room, data: bytes) -> None:
        notice = msgpack.unpackb(data)
        if "stream" in notice:
            message = {"type": "stream", "live": bool(notice["stream"])}
            for member in list(room.members):
                member.notify(message)
            return
        for member in list(room.members):
            if member.bidder_id == notice["kick"] and member.session != notice["session"]:
                member.replaced()

    async def _fill(self, room: _Room, entries: list[dict[str, Any]], now: int) -> None:
        """Hand out `entries`, first reading from the log any hole before them."""
        first = entries[0]["seq"] if entries else None
        if room.last_seq and (first is None or first > room.last_seq + 1):
            missed = await self._feed.entries_after(room.lot_id, room.last_seq)
            entries = [e for e in missed if first is None or e["seq"] < first] + entries
        self.dispatch(room, entries, now)

    def dispatch(self, room: _Room, entries: list[dict[str, Any]], now: int) -> None:
        """Hand entries to the room's members, each view encoded once per codec."""
        wall, delivered = time.time(), 0
        for entry in entries:
            seq, plate = entry["seq"], entry.get("plate")
            if seq <= room.last_seq:
                continue
            room.last_seq = seq
            self._metrics.fanout_lag.observe(max(0.0, wall - entry["ts"] / 1000))
            frames: dict[tuple[str, Codec], tuple[Payload, bytes] | None] = {}
            for member in room.members:
                key = audience(member.role, member.plate, plate)
                try:
                    frame = frames[(key, member.codec)]
                except KeyError:
                    frame = frames[(key, member.codec)] = encode_event(
                        entry, key, member.codec, now
                    )
                if frame is not None:
                    member.deliver(seq, *frame)
                    delivered += 1
        self._metrics.delivered.inc(delivered)


def encode_event(
    entry: dict[str, Any], key: str, codec: Codec, now: int
) -> tuple[Payload, bytes] | None:
    """An entry as audience `key` sees it: the payload and the whole WebSocket frame, or
    None when that audience may not see it."""
    view = entry_view(entry, key)
    if view is None:
        return None
    payload = codec.encode(event_message(view, now))
    return payload, codec.wire(payload)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("unsubscribe failed: %s", task.exception())
