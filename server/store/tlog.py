"""The transparency log's Merkle tree in the store: one tree over the entries of every lot
and opening, each leaf `auction.log.leaf(log, seq, chain hash)`.

Keys (all under the tag `{tlog}`, one slot): the size; one string per level holding that
level's perfect-subtree hashes, 32 bytes each, by index (auction/merkle.py); per log, the
tree index of each of its entries, 8 bytes per seq; the set of logs whose chain grew since
they were last put in the tree; the latest signed checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auction.merkle import Node
from server.store.keys import TLOG_KEYS, tlog_index, tlog_level
from server.store.scripts import script

__all__ = ["Tree"]

HASH = 32
INDEX = 8
TAKE = 1000  # logs taken from the dirty set at once


class Tree:
    def __init__(self, client: Any) -> None:
        self.client: Any = client
        self._append = script(client, "tlog_append")
        self._save = script(client, "tlog_checkpoint")

    async def size(self) -> int:
        return int(await self.client.get(TLOG_KEYS["size"]) or 0)

    async def nodes(self, wanted: Iterable[Node]) -> dict[Node, bytes]:
        """The hashes of perfect subtrees, each (level, index) written already."""
        wanted = sorted(set(wanted))
        pipe = self.client.pipeline(transaction=False)
        for level, index in wanted:
            pipe.getrange(tlog_level(level), HASH * index, HASH * index + HASH - 1)
        found = dict(zip(wanted, await pipe.execute(), strict=True))
        missing = [node for node, hashed in found.items() if len(hashed) != HASH]
        if missing:
            raise LookupError(f"the tree has no node {missing[0]}")
        return found

    async def append(
        self, size: int, new_size: int, made: dict[Node, bytes], logs: list[tuple[str, int, bytes]]
    ) -> bool:
        """Write the nodes `made` by growing the tree from `size` to `new_size`, and each
        log's indices (log id, its first new seq, 8 bytes per index), if the tree is still of
        `size` and each log's index ends just before its first new seq."""
        top = max(level for level, _ in made) + 1
        rows: list[bytearray] = [bytearray() for _ in range(top)]
        for (level, _index), hashed in sorted(made.items()):
            rows[level] += hashed
        keys = [TLOG_KEYS["size"], *(tlog_level(level) for level in range(top))]
        keys += [tlog_index(log_id) for log_id, _, _ in logs]
        args: list[Any] = [size, new_size, top, *map(bytes, rows)]
        for _, first, indices in logs:
            args += [first, indices]
        return int(await self._append(keys=keys, args=args)) == new_size

    async def integrated(self, log_ids: list[str]) -> list[int]:
        """How many entries of each log are in the tree."""
        pipe = self.client.pipeline(transaction=False)
        for log_id in log_ids:
            pipe.strlen(tlog_index(log_id))
        return [int(length) // INDEX for length in await pipe.execute()]

    async def leaf_index(self, log_id: str, seq: int) -> int | None:
        """Where entry `seq` of the log is in the tree; None if it is not there yet."""
        raw = await self.client.getrange(tlog_index(log_id), INDEX * (seq - 1), INDEX * seq - 1)
        return int.from_bytes(raw) if seq > 0 and len(raw) == INDEX else None

    async def mark_dirty(self, log_id: str) -> None:
        await self.client.sadd(TLOG_KEYS["dirty"], log_id)

    async def take_dirty(self) -> list[str]:
        """The logs whose chain grew, taken: whoever takes them puts them in the tree (or
        marks them again when it cannot)."""
        taken = await self.client.spop(TLOG_KEYS["dirty"], TAKE)
        return sorted(log_id.decode() for log_id in taken or ())

    async def checkpoint(self) -> tuple[int, str] | None:
        """The latest signed checkpoint and its tree size."""
        size, note = await self.client.hmget(TLOG_KEYS["checkpoint"], ["size", "note"])
        return None if note is None else (int(size), note.decode())

    async def save_checkpoint(self, size: int, note: str) -> None:
        """Keep `note` as the latest checkpoint, unless one of a larger tree is kept."""
        await self._save(keys=[TLOG_KEYS["checkpoint"]], args=[size, note])
