"""Frames toward one client: in order, through a bounded queue, drained by one task.

`put` never waits, so one slow client can never slow the fan-out to the others. When the
client falls `limit` frames behind, the outbox stops taking frames and calls `on_overflow`
once; the owner then closes the socket with `Close.TOO_SLOW` (the frames already queued go
first), and the client resumes with `since`, losing nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["Outbox", "Payload"]

Payload = bytes | str


class Outbox:
    def __init__(
        self,
        send: Callable[[Payload], Awaitable[None]],
        limit: int,
        on_overflow: Callable[[], None],
    ) -> None:
        self._send = send
        self._limit = limit
        self._on_overflow = on_overflow
        self._queue: deque[Payload] = deque()
        self._wake = asyncio.Event()
        self.overflowed = False
        self.closed = False

    def put(self, frame: Payload) -> bool:
        """Queue a frame; False (and the frame dropped) once the client is too far behind."""
        if self.overflowed or self.closed:
            return False
        if len(self._queue) >= self._limit:
            self.overflowed = True
            self._on_overflow()
            return False
        self._queue.append(frame)
        self._wake.set()
        return True

    async def run(self) -> None:
        """Send queued frames until `close()`; returns when the last one is out. Raises
        what `send` raised (the client went away)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._send(self._queue.popleft())
            if self.closed:
                return

    def close(self) -> None:
        """Take no more frames; `run` returns once those queued are sent."""
        self.closed = True
        self._wake.set()
