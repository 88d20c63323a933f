"""What each bidder's actions were seen from (address, device, payer account), kept per lot
or opening for the supervisor's collusion signals (auction/signals.py), off the hot path.

A trace is buffered in this process and written with every other trace of the same loop
turn in one pipeline, after the answer it belongs to has gone: keeping one never adds a
round trip to a bid's answer, never waits on the store, and never fails a command. Each
venue's traces are a capped stream (`ob:{id}:traces`, field `t` = a msgpack map) whose
entry ids, given by the store, are the traces' times. They are never published, never
logged and never in a frame.

What a crash can lose: the traces of the last turn or two (those buffered or in flight),
never a decision, which the log holds. A store out of reach loses the traces of that
moment likewise (counted in `lost`); the signals are evidence for people to weigh, not a
record anyone's rights depend on.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from auction.signals import Trace
from server.store.errors import STORE_ERRORS
from server.store.keys import traces_key
from server.store.scripts import pack, unpack

__all__ = ["CAP", "Traces"]

CAP = 10_000  # traces a venue keeps (about: the stream is trimmed approximately)


class Traces:
    def __init__(self, client: Any) -> None:
        self.client: Any = client
        self._waiting: list[tuple[str, bytes]] = []
        self._task: asyncio.Task[None] | None = None
        self.pipelines = 0  # written so far (one per flush)
        self.lost = 0  # traces the store did not take

    def keep(self, venue_id: str, bidder: str, action: str, **seen: str | None) -> None:
        """Keep a trace of `bidder`'s `action` (with `address`, `device`, `payer` where
        known): buffered now, written at the end of this loop turn with every other."""
        fields = {"bidder": bidder, "action": action} | {k: v for k, v in seen.items() if v}
        self._waiting.append((venue_id, pack(fields)))
        if self._task is None:
            self._task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._waiting:  # those that came while a pipeline was out go in the next
                batch, self._waiting = self._waiting, []
                pipe = self.client.pipeline(transaction=False)
                for venue_id, packed in batch:
                    pipe.xadd(traces_key(venue_id), {"t": packed}, maxlen=CAP, approximate=True)
                try:
                    await pipe.execute()
                    self.pipelines += 1
                except STORE_ERRORS:
                    self.lost += len(batch)
        finally:
            self._task = None

    async def written(self) -> None:
        """Return once every trace kept so far is in the store (or lost): at shutdown, and
        before reading what was just kept."""
        while (task := self._task) is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    async def read(self, venue_id: str) -> list[Trace]:
        """A venue's traces, oldest first, each with the store's time it was written at."""
        await self.written()
        rows = await self.client.xrange(traces_key(venue_id), "-", "+", CAP)
        found = []
        for entry_id, fields in rows:
            kept = unpack(fields[b"t"])
            ts = int(entry_id.split(b"-")[0])
            found.append(Trace(ts=ts, **{k: kept.get(k) for k in _FIELDS}))
        return found


_FIELDS = ("bidder", "action", "address", "device", "payer")
