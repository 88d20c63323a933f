"""Where openings live in Redis, beside lots and in the same form: one hash tag per opening,
the log a stream (`ob:{id}:log`, entry id = seq), the audit chain, the pub/sub channel, the
sessions; so the hub, the chainer and the audit export serve both.

An opening is decided in Python (auction/opening/rules.py) rather than in Lua: a few dozen bidders
and one host send a few hundred commands in all, and a decryption must open an envelope with
AES-GCM, which Lua cannot. Any number of processes stay consistent by compare-and-set: read
the state and the server's TIME in one call, decide, and append only if the state's seq has
not moved meanwhile (else decide again). Envelopes are kept in `ob:{id}:env`, one per
tenderer (`bidder_id:digest`: nobody's upload can touch another's blob), their bytes
counted in `ob:{id}:envbytes` against each tenderer's budget and the opening's cap.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgpack
from redis.exceptions import LockError

from auction.errors import Conflict, StoreUnavailable
from auction.log import Entry
from auction.opening.envelope import digest
from auction.opening.state import OpeningState, state_from_map, state_to_map
from server.store.acks import Acks
from server.store.due import DueSet
from server.store.keys import OPENING_DUE_KEY, channel, opening_keys, token_hash
from server.store.lots import AnyRedis
from server.store.scripts import pack, script, unpack

__all__ = ["OpeningBook"]


@dataclass(frozen=True, slots=True)
class Stored:
    """A decision appended: its raw entries exactly as logged (the chain hashes these)."""

    raw_entries: list[bytes]


class OpeningBook:
    def __init__(self, client: AnyRedis, acks: Acks | None = None) -> None:
        """`acks`: a decision is published, and answered, once its replicas hold it."""
        self.client: Any = client
        self.acks = acks or Acks(client)
        self._read = script(client, "opening_read")
        self._append = script(client, "opening_append")
        self._envelope = script(client, "envelope")
        self.due = DueSet(client, OPENING_DUE_KEY)

    async def load(self, opening_id: str) -> tuple[int, OpeningState | None]:
        """The server's time and the opening's state (None: no such opening)."""
        now, raw = await self._read(keys=[opening_keys(opening_id)["opening"]])
        return int(now), None if raw is None else state_from_map(unpack(raw))

    async def append(
        self, opening_id: str, since: int, state: OpeningState, entries: list[Entry], now: int
    ) -> Stored | None:
        """Append `entries` decided on the state at seq `since`; None when it moved."""
        keys = opening_keys(opening_id)
        raws = [pack(entry) for entry in entries]
        waits = bool(self.acks.replicas)
        said = "" if waits else channel(opening_id)  # else published here, once replicated
        args: list[bytes | str | int] = [since, pack(state_to_map(state)), said, now, *raws]
        names = [keys["opening"], keys["log"], keys["plog"]]
        try:
            appended = await self.acks.written(
                lambda connection: self._append(keys=names, args=args, client=connection),
                f"opening {opening_id}: a decision",
            )
        except StoreUnavailable:  # perhaps appended, unconfirmed: the timer must still see it
            await self.due.no_later(opening_id, state.deadline)
            raise
        if not appended:
            return None
        if waits:
            await self.client.publish(channel(opening_id), pack([now, raws]))
        await self.due.track(opening_id, state.deadline)
        return Stored(raws)

    async def exists(self, opening_id: str) -> bool:
        return bool(await self.client.exists(opening_keys(opening_id)["opening"]))

    # ---- tokens and envelopes --------------------------------------------------------

    async def add_token(self, opening_id: str, token: str, bidder_id: str) -> None:
        await self.client.hset(opening_keys(opening_id)["tokens"], token_hash(token), bidder_id)

    async def bidder_for_token(self, opening_id: str, token: str) -> str | None:
        found = await self.client.hget(opening_keys(opening_id)["tokens"], token_hash(token))
        return None if found is None else found.decode()

    async def put_envelope(
        self, opening_id: str, bidder_id: str, sealed: tuple[bytes, bytes], budget: int, cap: int
    ) -> str:
        """Keep a tenderer's envelope before its `envelope` entry is decided: "OK", or
        "BUDGET" / "FULL" (nothing kept) when its bytes would pass the tenderer's upload
        `budget` or the opening's `cap`. Drop it with `drop_envelope` if the rules refuse
        it, or once another of the tenderer's envelopes has replaced it."""
        keys = opening_keys(opening_id)
        args: list[bytes | str | int] = ["put", bidder_id, digest(*sealed), pack(list(sealed)),
                                         budget, cap]  # fmt: skip
        names = [keys["env"], keys["envbytes"], keys["opening"]]
        answer = await self._envelope(keys=names, args=args)
        return str(answer.decode() if isinstance(answer, bytes) else answer)

    @contextlib.asynccontextmanager
    async def uploading(
        self, opening_id: str, bidder_id: str, timeout: float
    ) -> AsyncIterator[None]:
        """One upload of a tenderer at a time, across processes (a lock in the store, let
        go after `timeout` whatever happens): two at once could decide in one order and
        clean up in the other. Conflict while another is in progress."""
        name = f"ob:{{{opening_id}}}:uploading:{bidder_id}"
        lock = self.client.lock(name, timeout=timeout, blocking=False)
        if not await lock.acquire():
            raise Conflict("您的上一份投标文件仍在上传", "an upload of yours is still in progress")
        try:
            yield
        finally:
            with contextlib.suppress(LockError):  # expired meanwhile: nothing left to release
                await lock.release()

    async def drop_envelope(self, opening_id: str, bidder_id: str, digest: str) -> None:
        """Drop the tenderer's blob under `digest`, unless it is its current envelope."""
        keys = opening_keys(opening_id)
        names = [keys["env"], keys["envbytes"], keys["opening"]]
        await self._envelope(keys=names, args=["drop", bidder_id, digest])

    async def envelope(
        self, opening_id: str, bidder_id: str, digest: str
    ) -> tuple[bytes, bytes] | None:
        """The blob kept for the tenderer under `digest`, as stored (check it: a store can
        be written behind the platform's back)."""
        raw = await self.client.hget(opening_keys(opening_id)["env"], f"{bidder_id}:{digest}")
        if raw is None:
            return None
        nonce, body = msgpack.unpackb(raw)
        return bytes(nonce), bytes(body)

    async def envelopes(self, opening_id: str) -> dict[str, tuple[bytes, bytes]]:
        """Every blob kept, by the digest it is kept under (for the audit export)."""
        raw = await self.client.hgetall(opening_keys(opening_id)["env"])
        found = {}
        for field, packed in raw.items():
            nonce, body = msgpack.unpackb(packed)
            found[field.decode().rpartition(":")[2]] = (bytes(nonce), bytes(body))
        return found
