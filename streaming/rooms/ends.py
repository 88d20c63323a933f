"""How a room connection's socket ends (and, for its origin, begins): the close frame after
what is queued, the place given back. `connection.py` runs the connection's life."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import structlog
from starlette.websockets import WebSocket

from streaming.rooms.wire import Close

if TYPE_CHECKING:
    from streaming.rooms.connection import Connection

__all__ = ["end", "origin_allowed", "writer_done"]

log = structlog.get_logger("openbid.ws")


def origin_allowed(ws: WebSocket, allowed: tuple[str, ...]) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:  # not a browser: browsers always send Origin on a WebSocket
        return True
    return urlsplit(origin).netloc == ws.headers.get("host") or origin in allowed


def writer_done(conn: Connection, task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:  # the socket broke mid-send
        conn.client_gone = True
        conn.finish(1006, "send failed")


async def end(conn: Connection) -> None:
    """Leave the room, close the socket, and give the place back."""
    try:
        conn.rooms.hub.leave(conn.venue_id, conn)
        if conn.counted:
            conn.rooms.gauges.connections.labels(conn.role).dec()
        await _close(conn)
    finally:
        conn.rooms.doors.leave(conn)


async def _close(conn: Connection) -> None:
    """Send what is queued (unless the client fell behind), then the close frame."""
    grace = conn.rooms.limits.hello_timeout_s
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
        conn.rooms.gauges.closes.labels(str(conn.close_code)).inc()
        with contextlib.suppress(Exception, TimeoutError):
            async with asyncio.timeout(grace):
                await conn.close()
    log.info("ws closed", lot=conn.venue_id, role=conn.role, plate=conn.plate,
             code=conn.close_code, reason=conn.close_reason)  # fmt: skip
