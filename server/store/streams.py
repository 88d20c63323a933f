"""Which worker holds an opening's livestream (`openbid serve --workers N`): one record per
opening, `"{server} {address}"`, kept with a time to live by the worker holding the stream
(server/web/videoroute.py says what the others do with it)."""

from __future__ import annotations

from typing import Any

from server.store.keys import stream_key
from server.store.scripts import script

__all__ = ["StreamHolders"]


class StreamHolders:
    def __init__(self, client: Any, ttl_ms: int) -> None:
        self.client, self.ttl_ms = client, ttl_ms
        self._script = script(client, "stream")

    async def hold(self, opening_id: str, record: str) -> None:
        """`record` holds the stream now, whoever held it before."""
        await self.client.set(stream_key(opening_id), record, px=self.ttl_ms)

    async def keep(self, opening_id: str, record: str) -> bool:
        """Refresh `record`'s hold, or make it again if it is gone; False (nothing written)
        when another worker holds the stream."""
        args: list[str | int] = ["claim", record, self.ttl_ms]
        return bool(await self._script(keys=[stream_key(opening_id)], args=args))

    async def release(self, opening_id: str, record: str) -> None:
        """Forget the hold if it is still `record`'s."""
        await self._script(keys=[stream_key(opening_id)], args=["release", record])

    async def holder(self, opening_id: str) -> str | None:
        raw = await self.client.get(stream_key(opening_id))
        return raw.decode() if isinstance(raw, bytes) else raw
