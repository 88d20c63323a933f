"""uvicorn's sans-I/O WebSocket protocol, letting the app write pre-built frames.

The fan-out encodes each event once per audience and codec; writing that frame's bytes
straight to each connection's transport costs one `write` per viewer instead of an ASGI
send, a frame build and a task switch. The protocol puts itself in the ASGI scope under
`RAW_EXTENSION`; `connection.py` uses it when present (any other ASGI server: plain sends).
Data frames carry no protocol state, so interleaving them with uvicorn's own writes is
safe as long as the app writes every data frame one way, which it does: `write_frame`.

Coalescing. A 限时 burst decides many bids in one batch, and several batches may land in
one turn of the event loop; a write per frame would be a syscall (and under TLS a record)
per frame per viewer. So `write_frame` only queues, and one callback per loop turn
(`call_soon`, scheduled by the first frame queued anywhere in the process) writes each
connection's frames of that turn as one `write`. A lone event still leaves before the loop
next waits for I/O: no timer, no added latency. Before anything uvicorn writes for the app
(a close frame, an ASGI send) and at server shutdown the queued frames go first, so order
holds and the answer to a command in hand still precedes the close.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["FLUSH_AT", "RAW_EXTENSION", "RawWebSocketProtocol"]

RAW_EXTENSION = "openbid.raw_transport"
# Queued bytes written at once, not at the turn's end: the transport's default high-water
# mark, so `writable` (flow control for the replay) still sees what is outstanding.
FLUSH_AT = 64 * 1024
# uvicorn's list of a message's frames, shared while none is half received: websockets
# refuses a continuation frame that no first frame began, so nothing appends to it
_NO_FRAMES: Any = ()


class _Inbox:
    """The ASGI receive queue, for its one reader: what uvicorn calls of `asyncio.Queue`
    (three deques and an Event each), with its list made only while a message waits."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = []
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def arrival(self) -> asyncio.Future[None]:
        """A future done once a message is in; await it, then `take`."""
        self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter

    def take(self) -> Any:
        assert self._items
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        return item


class _Writable:
    """What uvicorn uses of `asyncio.Event` for its flow control (an Event is a dict and a
    deque per connection): set unless the transport's buffer is over its high-water mark."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        if self._set:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter


class _Flusher:
    """One per event loop: the connections with frames queued this turn, written by one
    `call_soon` callback (one handle a turn for the process, not one per viewer)."""

    __slots__ = ("_due", "_loop", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: list[RawWebSocketProtocol] = []
        self._scheduled = False

    def add(self, protocol: RawWebSocketProtocol) -> None:
        self._due.append(protocol)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        due, self._due = self._due, []
        self._scheduled = False
        for protocol in due:
            protocol.flush()


_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Flusher] = (
    weakref.WeakKeyDictionary()
)


def _flusher(loop: asyncio.AbstractEventLoop) -> _Flusher:
    found = _flushers.get(loop)
    if found is None:
        found = _flushers[loop] = _Flusher(loop)
    return found


class RawWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Writable()  # type: ignore[assignment]
        self.frames = _NO_FRAMES  # a message's frames, while one is being received
        # frames of this loop turn; None while this protocol is not on the flusher's list
        self._pending: list[bytes] | None = None
        self._pending_size = 0

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # Read (into the scope, and the response made): websockets' parser keeps the request
        # for the connection's life, its headers a list and a dict entry each.
        event.headers.clear()
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][RAW_EXTENSION] = self  # the app's task has not run yet

    def write_frame(self, frame: bytes) -> None:
        """Queue a whole frame (`Codec.wire`); it is written, with every other frame this
        connection gets in this turn of the loop, in one `write` before the loop next
        waits. The caller checks `unsent()` against its limit; a closing socket drops it."""
        pending = self._pending
        if pending is None:
            pending = self._pending = []
            _flusher(self.loop).add(self)
        pending.append(frame)
        self._pending_size += len(frame)
        if self._pending_size >= FLUSH_AT:
            self._write_pending()

    def send_receive_event_to_app(self) -> None:
        super().send_receive_event_to_app()
        self.frames = _NO_FRAMES

    async def receive(self) -> Any:
        """The next ASGI event (uvicorn's, awaiting the inbox's future, not a coroutine of
        its own: an idle viewer's task waits through as few suspended frames as it can)."""
        queue: _Inbox = self.queue  # type: ignore[assignment]
        while queue.empty():
            await queue.arrival()
        message = queue.take()
        if self.read_paused and queue.empty():
            self.read_paused = False
            self.transport.resume_reading()
        return message

    def unsent(self) -> int:
        """Bytes the client has not taken yet: the transport's buffer and the queued frames."""
        return self.transport.get_write_buffer_size() + self._pending_size

    def flush(self) -> None:
        """Write the queued frames now (the flusher calls this once a turn)."""
        self._write_pending()
        self._pending = None

    def _write_pending(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending, self._pending_size = [], 0
        if self.close_sent or self.transport.is_closing():
            return
        # one frame as is; several joined: one write, one syscall (one TLS write under ssl)
        self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    async def send(self, message: Any) -> None:
        self._write_pending()  # what the app queued goes before what uvicorn writes for it
        await super().send(message)
        if message["type"] == "websocket.accept":
            # The handshake's request and response are done with: at thousands of idle
            # viewers their parsed headers are a tenth of each connection's memory.
            self.request = self.response = None  # type: ignore[assignment]

    def release_scope(self) -> None:
        """Empty the connection's ASGI scope (the headers, this protocol) once the app has
        read what it needs of it: the app's frame and this protocol still refer to it for
        the connection's whole life, a tenth of an idle viewer's memory."""
        self.scope.clear()  # type: ignore[attr-defined]

    def shutdown(self) -> None:
        self._write_pending()  # before uvicorn's own close frame
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        # Two reference cycles would outlive the viewer: this protocol in its own scope, and
        # websockets' parser generator holding its protocol. Reference counting frees what
        # has no cycle at once; a cycle waits for the collector, which server/pauses.py
        # keeps off long-lived objects (frozen, they would wait for a reclaim). Nothing
        # parses after the connection is lost (asyncio delivers no data after this).
        scope = getattr(self, "scope", None)
        if scope is not None and "extensions" in scope:
            scope["extensions"].pop(RAW_EXTENSION, None)
        self.conn.parser.close()
