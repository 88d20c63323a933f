"""The baseline for bench_fanout.py: what users would otherwise build, python-socketio on
uvicorn relaying a lot's public events from the same Redis channel to a room of viewers.

    python loadtests/socketio_baseline.py --redis-url URL --port PORT

Every viewer joins the room `lot`; each public entry is emitted once to the room.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import socketio
import uvicorn
from redis.asyncio import Redis

from auction.audience import public_event
from server.store.logs import published
from server.store.scripts import unpack


def build(redis_url: str) -> socketio.ASGIApp:
    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")

    @sio.event
    async def connect(sid: str, environ: dict[str, object]) -> None:
        await sio.enter_room(sid, "lot")

    async def relay() -> None:
        client = Redis.from_url(redis_url)
        pubsub = client.pubsub()
        await pubsub.psubscribe("ob:{*}:ev")
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            now, raws = published(message["data"])
            for raw in raws:
                view = public_event(unpack(raw))
                if view is not None:
                    await sio.emit("event", view | {"server_now": now}, room="lot")

    task: asyncio.Task[None] | None = None

    async def startup() -> None:
        nonlocal task
        task = asyncio.create_task(relay())

    async def shutdown() -> None:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return socketio.ASGIApp(sio, on_startup=startup, on_shutdown=shutdown)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    print("baseline listening", flush=True)
    uvicorn.run(build(args.redis_url), host="127.0.0.1", port=args.port, log_level="warning",
                ws="websockets-sansio", ws_per_message_deflate=False)  # fmt: skip


if __name__ == "__main__":
    main()
