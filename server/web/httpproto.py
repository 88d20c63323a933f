"""uvicorn's HTTP protocol with a deadline for a request's head (security review H3).

uvicorn times out an idle keep-alive connection but not a request whose headers never
finish: a client that sends a byte every few seconds holds a socket, and a few thousand of
them hold every descriptor the process has (slowloris). Here each request's head must be
complete within `Limits.header_timeout_s` of its first byte (of the connection, for the
first request), or the connection is closed. The body has its own deadline where the app
reads it (`server/web/common.py`). A WebSocket's handshake is a request head like any other; after
it, `hello` has its own deadline (`streaming/rooms/connection.py`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["guarded_http"]


class _GuardedHttp(HttpToolsProtocol):
    header_timeout_s = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:  # a keep-alive connection's next request
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def _arm(self) -> None:
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def guarded_http(header_timeout_s: float) -> type[Any]:
    """The protocol class for uvicorn's `http=`, with this deadline for a request's head."""
    return type("GuardedHttp", (_GuardedHttp,), {"header_timeout_s": header_timeout_s})
