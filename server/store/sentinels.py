"""The store through its Sentinels: `sentinel://HOST:PORT[,HOST:PORT...]/NAME` names them and
the primary they watch. redis-py's Sentinel support asks them where the primary is, and asks
again when a connection fails, so after a failover the clients reach the promoted replica."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

__all__ = ["is_sentinel", "primary_of", "sentinel_url"]

SCHEME = "sentinel://"


def sentinel_url(addresses: str, master: str) -> str:
    """The URL for `openbid serve --sentinel A:P,B:Q --master NAME`."""
    return f"{SCHEME}{addresses}/{master}"


def is_sentinel(url: str) -> bool:
    return url.startswith(SCHEME)


def primary_of(url: str, **options: Any) -> Redis:
    """A client of the primary the URL's Sentinels name (`options` go to its pool)."""
    found = urlsplit(url)
    hosts = [part.rsplit(":", 1) for part in found.netloc.split(",") if part]
    sentinels = Sentinel([(host, int(port)) for host, port in hosts],  # type: ignore[no-untyped-call]
                         socket_timeout=2.0)  # fmt: skip
    client: Redis = sentinels.master_for(found.path.strip("/"), socket_timeout=5.0, **options)
    return client
