"""The transparency log's Merkle tree in the store: one tree over the entries of every lot
and opening, each leaf `auction.log.leaf(log, seq, chain hash)`.

Keys (all under the tag `{tlog}`, one slot): the size; one string per level holding that
level's perfect-subtree hashes, 32 bytes each, by index (auction/merkle.py); per log, the
tree index of each of its entries (8 bytes per seq) and, by the SHA-256 of each entry's
bytes, its tree index and chain hash; the set of logs whose chain grew since they were
last put in the tree; the latest signed checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from auction.merkle import Node
from server.store.acks import Acks
from server.store.keys import TLOG_KEYS, tlog_entries, tlog_index, tlog_level
from server.store.scripts import script

__all__ = ["Grown", "Tree"]

HASH = 32
INDEX = 8
TAKE = 1000  # logs taken from the dirty set at once


@dataclass(frozen=True, slots=True)
class Grown:
    """A log's entries new in the tree: from seq `first`, their leaf indices (8 bytes
    each), the SHA-256 of each entry's bytes and each entry's chain hash."""

    log_id: str
    first: int
    indices: bytes
    digests: list[bytes]
    chain_hashes: list[str]


class Tree:
    def __init__(self, client: Any, acks: Acks | None = None) -> None:
        """`acks`: how a checkpoint waits for the replicas (Transparency._sign)."""
        self.client: Any = client
        self.acks = acks or Acks(client)
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
        self, size: int, new_size: int, made: dict[Node, bytes], logs: list[Grown]
    ) -> bool:
        """Write the nodes `made` by growing the tree from `size` to `new_size`, and where
        each log's new entries are (by seq and by digest), if the tree is still of `size`
        and each log's index ends just before its first new seq."""
        top = max(level for level, _ in made) + 1
        rows: list[bytearray] = [bytearray() for _ in range(top)]
        for (level, _index), hashed in sorted(made.items()):
            rows[level] += hashed
        keys = [TLOG_KEYS["size"], *(tlog_level(level) for level in range(top))]
        args: list[Any] = [size, new_size, top, *map(bytes, rows)]
        for grown in logs:
            keys += [tlog_index(grown.log_id), tlog_entries(grown.log_id)]
            chains = b"".join(bytes.fromhex(h) for h in grown.chain_hashes)
            args += [grown.first, grown.indices, b"".join(grown.digests), chains]
        return int(await self._append(keys=keys, args=args)) == new_size

    async def integrated(self, log_ids: list[str]) -> list[int]:
        """How many entries of each log are in the tree."""
        pipe = self.client.pipeline(transaction=False)
        for log_id in log_ids:
            pipe.strlen(tlog_index(log_id))
        return [int(length) // INDEX for length in await pipe.execute()]

    async def entry(self, log_id: str, digest: bytes) -> tuple[int, str] | None:
        """Where the entry whose bytes hash to `digest` is in the tree, and its chain hash;
        None if it is not there yet."""
        raw = await self.client.hget(tlog_entries(log_id), digest)
        return None if raw is None else (int.from_bytes(raw[:INDEX]), raw[INDEX:].hex())

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
