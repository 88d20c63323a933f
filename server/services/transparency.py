"""The transparency log: every chained entry of every lot and opening goes into one Merkle
tree (server/store/tlog.py), and the server signs a checkpoint of the tree (C2SP
tlog-checkpoint, auction/checkpoint.py) whenever it grew, at most once a `interval_s`.

An export carries a checkpoint and the inclusion proof of its last entry, so a history
rewritten after the fact, or cut short, no longer matches what the server signed; a
witness (`openbid witness`) that keeps the checkpoints it saw and checks each new one by a
consistency proof catches a server that shows two histories.

Any number of processes may share the tree: one puts leaves in at a time (a store lock),
and the tree's append is compare-and-set on its size besides.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from redis.exceptions import LockError

from auction.checkpoint import BadNote, Signer, Verifier
from auction.errors import Conflict, NotFound, StoreUnavailable
from auction.log import leaf
from auction.merkle import (
    append,
    consistency_ranges,
    edge,
    inclusion_ranges,
    leaf_hash,
    range_hash,
    root_of_edge,
    tiles,
)
from auction.receipt import Receipt
from server.store.anchors import Anchors
from server.store.chainer import Chainer
from server.store.keys import TLOG_KEYS
from server.store.logs import Logs
from server.store.tlog import Grown, Tree
from server.timestamps import token_time

__all__ = ["ORIGIN", "Transparency"]

ORIGIN = "openbid.localhost/log"  # the log's name when the centre gives none
BATCH = 10_000  # leaves put in the tree by one append
LOCK_S = 10.0  # how long the store's lock outlives a process that died holding it


class Transparency:
    def __init__(self, tree: Tree, logs: Logs, chainer: Chainer, signer: Signer) -> None:
        self.tree, self.logs, self.chainer, self.signer = tree, logs, chainer, signer
        self.interval_s = 1.0
        self.anchors = Anchors(tree.client)
        self.on_signed: Callable[[], None] | None = None  # a new checkpoint: anchor it
        self._lock = asyncio.Lock()
        self._grew = asyncio.Event()
        chainer.on_chained = self._chained

    async def _chained(self, log_id: str) -> None:
        await self.tree.mark_dirty(log_id)
        self._grew.set()

    async def check_key(self) -> None:
        """Refuse a store whose checkpoints another key signed: every process sharing a
        store must sign with the same key, or the log would contradict itself."""
        kept = await self.tree.checkpoint()
        if kept is not None:
            try:
                Verifier(self.signer.vkey()).checkpoint(kept[1])
            except BadNote:
                raise RuntimeError(
                    "the transparency log in this store is signed by another key or origin: "
                    "give every server on one store the same OPENBID_LOG_KEY"
                ) from None

    async def run(self) -> None:
        """Sign checkpoints as logs grow, one per `interval_s` at most, until cancelled."""
        while True:
            await self._grew.wait()
            self._grew.clear()
            with contextlib.suppress(Exception):  # the store is down: the next growth retries
                await self.integrate()
            await asyncio.sleep(self.interval_s)

    async def integrate(self, *log_ids: str) -> int:
        """Put every chained entry of the logs that grew, and of `log_ids`, in the tree, and
        sign a checkpoint if it grew. Returns the tree's size."""
        async with self._lock, self._store_lock():
            epoch = self.tree.acks.epoch  # the primary the tree grows on
            taken = await self.tree.take_dirty()
            try:
                size = await self._grow(sorted({*taken, *log_ids}))
            except BaseException:
                for log_id in taken:
                    await self.tree.mark_dirty(log_id)
                raise
            await self._sign(size, epoch)
            return size

    @contextlib.asynccontextmanager
    async def _store_lock(self) -> AsyncIterator[None]:
        """The lock every process takes to grow the tree; StoreUnavailable (503, try again)
        if another holds it past LOCK_S, as one that died holding it does until it lapses."""
        lock = self.tree.client.lock(TLOG_KEYS["lock"], timeout=LOCK_S, blocking_timeout=LOCK_S)
        if not await lock.acquire():
            raise StoreUnavailable()
        try:
            yield
        finally:
            with contextlib.suppress(LockError):
                await lock.release()

    async def _grow(self, log_ids: list[str]) -> int:
        while True:
            size = await self.tree.size()
            leaves: list[bytes] = []
            grown: list[Grown] = []
            counts = await self.tree.integrated(log_ids)
            for log_id, done in zip(log_ids, counts, strict=True):
                chained, _ = await self.logs.chain_state(log_id)
                last = min(chained, done + BATCH - len(leaves))
                hashes = await self.logs.chain_range(log_id, done + 1, last)
                if not hashes:
                    continue
                raws = await self.logs.log(log_id, since=done, count=len(hashes))
                first = size + len(leaves)
                indices = b"".join(i.to_bytes(8) for i in range(first, first + len(hashes)))
                digests = [hashlib.sha256(raw).digest() for raw in raws]
                grown.append(Grown(log_id, done + 1, indices, digests, hashes))
                pairs = zip(digests, hashes, strict=True)
                leaves += [leaf_hash(leaf(log_id, d.hex(), h)) for d, h in pairs]
            if not leaves:
                return size
            made = append(size, await self.tree.nodes(edge(size)), leaves)
            if not await self.tree.append(size, size + len(leaves), made, grown):
                raise RuntimeError("the transparency log grew under its lock")

    async def add_document(self, venue_id: str, data: bytes) -> None:
        """Put a signed document of a lot or an opening in the tree, as the next entry of
        its documents' log (`{venue}-documents`: leaf(log, SHA-256, SHA-256), there being no
        chain to it), once however often it is asked."""
        await self.add_digest(venue_id, hashlib.sha256(data).digest())

    async def add_digest(self, venue_id: str, digest: bytes) -> None:
        """`add_document` for a document known by its SHA-256 (a recording, read in parts).
        A document served again is in already: no lock is taken for it."""
        log_id = f"{venue_id}-documents"
        if await self.tree.entry(log_id, digest) is not None:
            return
        async with self._lock, self._store_lock():
            epoch = self.tree.acks.epoch
            if await self.tree.entry(log_id, digest) is not None:
                return
            size = await self.tree.size()
            (done,) = await self.tree.integrated([log_id])
            hashed = leaf_hash(leaf(log_id, digest.hex(), digest.hex()))
            made = append(size, await self.tree.nodes(edge(size)), [hashed])
            grown = Grown(log_id, done + 1, size.to_bytes(8), [digest], [digest.hex()])
            if not await self.tree.append(size, size + 1, made, [grown]):
                raise RuntimeError("the transparency log grew under its lock")
            await self._sign(size + 1, epoch)

    async def _sign(self, size: int, epoch: int) -> None:
        kept = await self.tree.checkpoint()
        if kept is None or kept[0] < size:
            # only a tree the replicas hold: signed over nodes the primary alone had, a
            # failover would grow another tree of that size under the same key (a fork)
            await self.tree.acks.barrier(since=epoch)
            root = root_of_edge(size, await self.tree.nodes(edge(size)))
            await self.tree.save_checkpoint(size, self.signer.checkpoint(size, root))
            if self.on_signed is not None:
                self.on_signed()

    def receipt(
        self, log_id: str, raw: bytes, entry: dict[str, Any], price: int | None = None
    ) -> str:
        """The signed receipt (auction/receipt.py) of an entry just logged."""
        return self.signer.sign(Receipt.of(log_id, raw, entry, price).body())

    # ---- what anyone may ask ----------------------------------------------------------

    async def checkpoint(self) -> tuple[int, str]:
        """The latest signed checkpoint (signing the empty tree's if there is none yet)."""
        kept = await self.tree.checkpoint()
        if kept is None:
            await self.integrate()
            kept = await self.tree.checkpoint()
        assert kept is not None
        return kept

    async def inclusion(
        self, log_id: str, digest: bytes, size: int | None = None
    ) -> dict[str, Any]:
        """Where the entry of a log whose bytes hash to `digest` is in the tree, its chain
        hash (the rest of its leaf), and the proof that it is in the tree of `size` leaves
        (the latest checkpoint's by default). Whoever holds the entry or a receipt for it
        knows the digest; nobody else can ask."""
        found = await self.tree.entry(log_id, digest)
        if found is None:
            raise NotFound("entry")
        index, chain_hash = found
        size = size if size is not None else (await self.checkpoint())[0]
        if not index < size <= await self.tree.size():
            raise Conflict("该记录不在此树中", f"the entry is not in a tree of {size} leaves")
        proof = await self._hashes(inclusion_ranges(index, size))
        return {"log": log_id, "entry": digest.hex(), "chain_hash": chain_hash, "index": index,
                "size": size, "proof": proof}  # fmt: skip

    async def consistency(self, old: int, new: int) -> dict[str, Any]:
        if not 0 <= old <= new <= await self.tree.size():
            raise Conflict("树的大小不合适", f"no proof from a tree of {old} to one of {new}")
        return {"from": old, "to": new, "proof": await self._hashes(consistency_ranges(old, new))}

    async def _hashes(self, ranges: list[tuple[int, int]]) -> list[str]:
        nodes = await self.tree.nodes(node for a, b in ranges for node in tiles(a, b))
        return [base64.b64encode(range_hash(a, b, nodes)).decode() for a, b in ranges]

    async def proof_for_export(self, log_id: str, seq: int) -> dict[str, Any]:
        """What an export of a log chained up to `seq` carries: a checkpoint with the log's
        entries up to `seq` in it, and the inclusion proof of entry `seq`."""
        await self.integrate(log_id)
        size, note = await self.checkpoint()
        (raw,) = await self.logs.log(log_id, since=seq - 1, count=1)
        found = await self.inclusion(log_id, hashlib.sha256(raw).digest(), size)
        with contextlib.suppress(NotFound):  # a log never anchored: an export without
            found["anchor"] = await self.anchor(consistent_with=size)
        return {"checkpoint": note} | found

    async def anchor(
        self, size: int | None = None, consistent_with: int | None = None
    ) -> dict[str, Any]:
        """The checkpoint of `size` leaves (the latest anchored by default) with the TSA's
        RFC 3161 token over its note (base64 DER) and the token's time; with
        `consistent_with`, the consistency proof between its tree and the tree of that many
        leaves (smaller first), so a verifier ties the anchor to a checkpoint it holds."""
        found = await self.anchors.get(size)
        if found is None:
            raise NotFound("anchor")
        answer: dict[str, Any] = {
            "checkpoint": found.note, "size": found.size,
            "token": base64.b64encode(found.token).decode(),
            "time": token_time(found.token).isoformat(),
        }  # fmt: skip
        if consistent_with is not None:
            pair = sorted((found.size, consistent_with))
            answer["consistency"] = await self.consistency(pair[0], pair[1])
        return answer
