"""This process's open room connections: the budget they share, and a graceful shutdown.

Who may take a socket (security review H3): every connection counts against
`max_connections`, and of those `reserved` are kept for bidders and staff, so a crowd of
anonymous viewers can never lock a bidder out of a 限时 countdown. Before `hello` a socket
counts against its address's `pending_per_address` (hello comes within `hello_timeout_s`);
a public viewer then counts against its address's `public_per_address`. Bidders and staff
have no per-address cap: a whole office behind one NAT may bid. The address is the one the
ASGI server reports (uvicorn takes it from X-Forwarded-For behind a trusted proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Protocol

from streaming.rooms.ports import RoomLimits
from streaming.rooms.wire import Close

__all__ = ["Doors", "Guest"]


class Guest(Protocol):
    """A connection as the doors see it."""

    address: str  # the client's, as the ASGI server reports it
    role: str  # "public" until its hello says otherwise

    def finish(self, code: int, reason: str) -> None: ...


class Doors:
    def __init__(self, limits: RoomLimits) -> None:
        self.limits = limits
        self.open: set[Guest] = set()
        self.closing = False
        self._pending: Counter[str] = Counter()  # sockets before hello, by address
        self._public: Counter[str] = Counter()  # public viewers, by address
        self._public_total = 0
        self._waiting: set[Guest] = set()  # counted in _pending
        self._welcomed: set[Guest] = set()  # public ones counted in _public
        self._emptied = asyncio.Event()

    def refusal(self, address: str) -> tuple[int, str] | None:
        """Why a new socket from `address` may not stay (a close code and reason), or None."""
        if self.closing:
            return Close.GOING_AWAY, "server shutting down"
        if len(self.open) >= self.limits.max_connections:
            return Close.TRY_LATER, "server full"
        if self._pending[address] >= self.limits.pending_per_address:
            return Close.TRY_LATER, "too many connections from your address"
        return None

    def enter(self, member: Guest) -> None:
        self.open.add(member)
        self._waiting.add(member)
        self._pending[member.address] += 1

    def welcome(self, member: Guest) -> bool:
        """`member` said hello as its role; False when a public viewer finds no room left
        (the caller closes it), else it is counted in. Either way it waits no more."""
        self._stop_waiting(member)
        if member.role != "public":
            return True
        limits = self.limits
        full = self._public_total >= limits.max_connections - limits.reserved
        if full or self._public[member.address] >= limits.public_per_address:
            return False
        self._welcomed.add(member)
        self._public[member.address] += 1
        self._public_total += 1
        return True

    def leave(self, member: Guest) -> None:
        """Forget `member` wherever it is counted (each count is taken off exactly once)."""
        if member not in self.open:
            return
        self.open.discard(member)
        self._stop_waiting(member)
        if member in self._welcomed:
            self._welcomed.discard(member)
            self._public_total -= 1
            self._public[member.address] -= 1
            if not self._public[member.address]:
                del self._public[member.address]
        if not self.open:
            self._emptied.set()

    def _stop_waiting(self, member: Guest) -> None:
        if member not in self._waiting:
            return
        self._waiting.discard(member)
        self._pending[member.address] -= 1
        if not self._pending[member.address]:
            del self._pending[member.address]

    async def shutdown(self, timeout: float) -> None:
        """Close every connection with "going away" once its command in hand is answered
        and its queued frames are sent; returns when all are closed or after `timeout`."""
        self.closing = True
        if not self.open:
            return
        self._emptied.clear()
        for member in list(self.open):
            member.finish(Close.GOING_AWAY, "server shutting down")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._emptied.wait(), timeout)
