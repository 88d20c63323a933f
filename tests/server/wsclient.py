"""A test client for `/ws/lots/{lot}` in either subprotocol, over the real websockets
library; it decodes every frame and can wait for the first message that matches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from streaming.rooms.wire import CODECS, Codec
from tests.conftest import TIMEOUT

Message = dict[str, Any]


class Client:
    def __init__(self, ws: ClientConnection, codec: Codec) -> None:
        self.ws, self.codec = ws, codec
        self.received: list[Message] = []  # every message so far, in order

    async def send(self, message: Message) -> None:
        await self.ws.send(self.codec.encode(message))

    async def recv(self) -> Message:
        async with asyncio.timeout(TIMEOUT):
            message = self.codec.decode(await self.ws.recv())
        self.received.append(message)
        return message

    async def until(self, match: Callable[[Message], bool]) -> list[Message]:
        """Every message up to and including the first that matches."""
        seen = []
        while True:
            seen.append(await self.recv())
            if match(seen[-1]):
                return seen

    async def hello(self, token: str | None = None, since: int | None = None) -> Message:
        hello: Message = {"type": "hello"}
        if token is not None:
            hello["token"] = token
        if since is not None:
            hello["since"] = since
        await self.send(hello)
        return await self.recv()


def ws_url(base: str, lot_id: str, room: str = "lots") -> str:
    return base.replace("http://", "ws://") + f"/ws/{room}/{lot_id}"


@asynccontextmanager
async def client(
    base: str,
    lot_id: str,
    subprotocol: str = "openbid.msgpack.v1",
    room: str = "lots",
    **options: Any,
) -> AsyncIterator[Client]:
    """A client of `/ws/{room}/{lot_id}`: room "lots" or "openings"."""
    async with connect(
        ws_url(base, lot_id, room), subprotocols=[Subprotocol(subprotocol)], **options
    ) as ws:
        yield Client(ws, CODECS[subprotocol])
