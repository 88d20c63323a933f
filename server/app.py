"""`create_app()`: the Starlette application and the lifespan that owns its resources:
the Redis client, the bid book's scripts, the chainer and the timer task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from starlette.applications import Starlette

from server.bidbook import BidBook
from server.http import routes
from server.service import Service
from server.timer import Timer

__all__ = ["POOL_SIZE", "connect", "create_app"]


POOL_SIZE = 64  # concurrent commands wait for a connection rather than fail


async def connect(url: str) -> Redis | RedisCluster:
    """A client for `url`, a cluster client when the server says it is in a cluster."""
    client = Redis(connection_pool=BlockingConnectionPool.from_url(url, max_connections=POOL_SIZE))
    info = await client.info("cluster")
    if info.get("cluster_enabled"):
        await client.aclose()
        return RedisCluster.from_url(url)
    return client


def create_app(redis_url: str, admin_token: str, *, timer: bool = True) -> Starlette:
    """The app; it connects on startup. `timer=False` is for tests that drive time."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = await connect(redis_url)
        service = Service(BidBook(client), admin_token)
        app.state.service = service
        task = None
        if timer:
            task = asyncio.create_task(Timer(service.book, service.chainer.poke).run())
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await service.chainer.close()
            await client.aclose()

    return Starlette(routes=routes, lifespan=lifespan)
