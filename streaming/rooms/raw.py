"""uvicorn's sans-I/O WebSocket protocol, letting the app write pre-built frames.

The fan-out encodes each event once per audience and codec; writing that frame's bytes
straight to each connection's transport costs one `write` per viewer instead of an ASGI
send, a frame build and a task switch. The protocol puts itself in the ASGI scope under
`RAW_EXTENSION`; `connection.py` uses it when present (any other ASGI server: plain sends).
Data frames carry no protocol state, so interleaving them with uvicorn's own writes is
safe as long as the app writes every data frame one way, which it does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["RAW_EXTENSION", "RawWebSocketProtocol"]

RAW_EXTENSION = "openbid.raw_transport"


class _Inbox:
    """The ASGI receive queue, for its one reader: what uvicorn calls of `asyncio.Queue`
    (three deques and an Event each) in a list and one future, a quarter of the memory."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class RawWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][RAW_EXTENSION] = self  # the app's task has not run yet

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            # The handshake's request and response are done with: at thousands of idle
            # viewers their parsed headers are a tenth of each connection's memory.
            self.request = self.response = None  # type: ignore[assignment]
