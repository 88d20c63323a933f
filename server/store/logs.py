"""Any log by its id, a lot's or an opening's alike: read, in the audit or the public
sequence, its pub/sub channels, its audit hash chain, and the server's clock. It is the
rooms' `Feed` (streaming/rooms/ports.py) and what the chainer and the exports read.

A log is a stream (`ob:{id}:log`, entry id = seq, field `e` = the msgpack entry as the
decision wrote it); `ob:{id}:plog` lists the public entries' seqs, four bytes each, so
`pseq` n is at offset 4(n-1).
"""

from __future__ import annotations

from typing import Any

import msgpack

from auction.log import Entry
from server.store.keys import channel, control_channel, lot_keys
from server.store.scripts import script, unpack

__all__ = ["Logs", "published"]


def published(message: bytes) -> tuple[int, list[bytes]]:
    """One pub/sub message of a log's channel: the decision's server time and the raw
    entries it appended, as stored in the log (Lua packs them as msgpack strings)."""
    now, entries = msgpack.unpackb(message, raw=True)
    return int(now), list(entries)


class Logs:
    def __init__(self, client: Any) -> None:
        self.client: Any = client  # untyped: redis-py's return types are every decoding's
        self._chain = script(client, "chain")

    async def log(self, lot_id: str, since: int = 0, count: int | None = None) -> list[bytes]:
        """Raw entries with seq > `since`, oldest first."""
        rows = await self.client.xrange(lot_keys(lot_id)["log"], f"{since + 1}-0", "+", count)
        return [fields[b"e"] for _, fields in rows]

    async def public_position(self, log_id: str, pseq: int) -> int:
        """The audit seq of the `pseq`-th public entry of a lot's or an opening's log (0 for
        0): the public's `since` turned into the place to read the log after. Past the end,
        the log's end."""
        if pseq <= 0:
            return 0
        found = await self.client.getrange(lot_keys(log_id)["plog"], 4 * pseq - 4, 4 * pseq - 1)
        return int.from_bytes(found) if len(found) == 4 else await self.last_seq(log_id)

    async def public_log(self, log_id: str, since: int, count: int) -> list[bytes]:
        """Raw public entries with pseq > `since`, oldest first, at most `count`."""
        keys = lot_keys(log_id)
        packed = await self.client.getrange(keys["plog"], 4 * since, 4 * (since + count) - 1)
        seqs = [int.from_bytes(packed[i : i + 4]) for i in range(0, len(packed) - 3, 4)]
        if not seqs:
            return []
        pipe = self.client.pipeline(transaction=False)
        for seq in seqs:
            pipe.xrange(keys["log"], f"{seq}-0", f"{seq}-0")
        return [rows[0][1][b"e"] for rows in await pipe.execute()]

    # ---- the live rooms' feed ---------------------------------------------------------

    def channels(self, log_id: str) -> tuple[str, str]:
        return channel(log_id), control_channel(log_id)

    def log_of(self, name: bytes) -> tuple[str, bool]:
        text = name.decode()
        return text.split("{", 1)[1].rsplit("}", 1)[0], text.endswith(":ctl")

    def decode(self, message: bytes) -> tuple[int, list[Entry]]:
        now, raws = published(message)
        return now, [unpack(raw) for raw in raws]

    async def entries_after(self, log_id: str, seq: int) -> list[Entry]:
        return await self.read(log_id, seq)

    async def read(self, log_id: str, after: int, count: int | None = None) -> list[Entry]:
        """Entries with seq > `after`, oldest first, decoded."""
        return [unpack(raw) for raw in await self.log(log_id, after, count)]

    async def last_seq(self, lot_id: str) -> int:
        """The seq of the newest entry in the log; 0 for none."""
        newest = await self.client.xrevrange(lot_keys(lot_id)["log"], "+", "-", 1)
        return int(newest[0][0].split(b"-")[0]) if newest else 0

    async def chain_state(self, lot_id: str) -> tuple[int, str]:
        n, head = await self.client.hmget(lot_keys(lot_id)["chain"], ["n", "h"])
        return int(n or 0), (head or b"").decode()

    async def chain_hashes(self, lot_id: str) -> dict[int, str]:
        raw = await self.client.hgetall(lot_keys(lot_id)["chain"])
        return {int(k): v.decode() for k, v in raw.items() if k not in (b"n", b"h")}

    async def chain_range(self, log_id: str, first: int, last: int) -> list[str]:
        """The chain hashes of seqs `first` to `last`, chained already."""
        seqs = list(range(first, last + 1))
        found = await self.client.hmget(lot_keys(log_id)["chain"], seqs) if seqs else []
        if None in found:
            raise LookupError(f"{log_id} is not chained up to {last}")
        return [hashed.decode() for hashed in found]

    async def extend_chain(self, lot_id: str, first: int, head: str, hashes: list[str]) -> int:
        """Compare-and-set; returns where the chain stands (moved by another if not ours)."""
        keys = [lot_keys(lot_id)["chain"]]
        return int(await self._chain(keys=keys, args=[first, head, *hashes]))

    async def server_time(self) -> int:
        seconds, micros = await self.client.time()
        return int(seconds) * 1000 + int(micros) // 1000
