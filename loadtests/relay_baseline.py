"""The baseline for bench_webrtc.py: aiortc's documented relay (examples/server with
`MediaRelay`), which decodes the host's stream once and encodes it again for every viewer.

    python loadtests/relay_baseline.py --port 8100

`POST /publish` and `POST /watch` take `{"sdp", "type"}` offers, like OpenBid's routes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

relay = MediaRelay()
source: dict[str, MediaStreamTrack] = {}
peers: set[RTCPeerConnection] = set()


async def _answer(pc: RTCPeerConnection, request: Request) -> JSONResponse:
    await pc.setLocalDescription(await pc.createAnswer())
    return JSONResponse({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type})


async def publish(request: Request) -> JSONResponse:
    body: Any = await request.json()
    pc = RTCPeerConnection()
    peers.add(pc)
    pc.on("track", lambda track: source.__setitem__(track.kind, track))
    await pc.setRemoteDescription(RTCSessionDescription(**body))
    return await _answer(pc, request)


async def watch(request: Request) -> JSONResponse:
    body: Any = await request.json()
    pc = RTCPeerConnection()
    peers.add(pc)
    await pc.setRemoteDescription(RTCSessionDescription(**body))
    for transceiver in pc.getTransceivers():
        if transceiver.kind in source:
            pc.addTrack(relay.subscribe(source[transceiver.kind]))
    return await _answer(pc, request)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    await asyncio.gather(*(pc.close() for pc in peers))


app = Starlette(
    routes=[Route("/publish", publish, methods=["POST"]), Route("/watch", watch, methods=["POST"])],
    lifespan=lifespan,
)

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8100)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
