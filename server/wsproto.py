"""uvicorn's sans-I/O WebSocket protocol, letting the app write pre-built frames.

The fan-out encodes each event once per audience and codec; writing that frame's bytes
straight to each connection's transport costs one `write` per viewer instead of an ASGI
send, a frame build and a task switch. The protocol puts itself in the ASGI scope under
`RAW_EXTENSION`; `server/ws.py` uses it when present (any other ASGI server: plain sends).
Data frames carry no protocol state, so interleaving them with uvicorn's own writes is
safe as long as the app writes every data frame one way, which it does.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

__all__ = ["RAW_EXTENSION", "RawWebSocketProtocol"]

RAW_EXTENSION = "openbid.raw_transport"


class RawWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][RAW_EXTENSION] = self  # the app's task has not run yet
