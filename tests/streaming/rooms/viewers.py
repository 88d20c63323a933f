"""Idle public viewers in a process of their own (`viewers`), so that what a test counts in
its server's process is the server's alone:

    python -m tests.streaming.rooms.viewers URL COUNT

connects COUNT msgpack viewers (picows: no task per viewer), each saying hello; prints
`welcomed N` once every one has its welcome or was closed, then holds them open until its
standard input closes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgpack
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

__all__ = ["main", "viewers"]

AT_ONCE = 100
WAIT_S = 60.0  # for a crowd's welcomes on a loaded machine


class Viewer(WSListener):
    def __init__(self, arrived: asyncio.Queue[bool]) -> None:
        self.arrived = arrived

    def on_ws_connected(self, transport: WSTransport) -> None:
        transport.send(WSMsgType.BINARY, msgpack.packb({"type": "hello"}))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.BINARY:
            message = msgpack.unpackb(frame.get_payload_as_bytes())
            if message.get("type") == "welcome":
                self.arrived.put_nowait(True)
        elif frame.msg_type == WSMsgType.CLOSE:
            self.arrived.put_nowait(False)


async def hold(url: str, count: int) -> None:
    arrived: asyncio.Queue[bool] = asyncio.Queue()
    headers = {"Sec-WebSocket-Protocol": "openbid.msgpack.v1"}
    transports = []
    for first in range(0, count, AT_ONCE):
        made = await asyncio.gather(*(
            ws_connect(lambda: Viewer(arrived), url, extra_headers=headers,
                       websocket_handshake_timeout=WAIT_S)
            for _ in range(min(AT_ONCE, count - first))
        ))  # fmt: skip
        transports += [transport for transport, _ in made]
    welcomed = 0
    for _ in range(count):
        welcomed += await arrived.get()
    print(f"welcomed {welcomed}", flush=True)
    await asyncio.to_thread(sys.stdin.read)
    for transport in transports:
        transport.disconnect()


@asynccontextmanager
async def viewers(url: str, count: int) -> AsyncIterator[None]:
    """`count` idle public viewers of `url` in a process of their own, every one welcomed,
    until the block ends."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.streaming.rooms.viewers", url, str(count),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    try:
        async with asyncio.timeout(WAIT_S):
            said = await process.stdout.readline()
        assert said.decode().split() == ["welcomed", str(count)], said
        yield
    finally:
        process.stdin.close()
        async with asyncio.timeout(WAIT_S):
            await process.wait()


def main() -> None:
    asyncio.run(hold(sys.argv[1], int(sys.argv[2])))


if __name__ == "__main__":
    main()
