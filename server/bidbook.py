"""The bid book: the Python face of the Lua scripts that decide every command on a lot.

One `BidBook` per process, over one redis-py asyncio client (standalone or cluster). Every
key of a lot carries the hash tag `{lot_id}`, so a lot lives in one cluster slot and one
script call decides atomically. The due set `ob:due` (lot id -> next deadline) lets any
process's timer find lots whose phase must move; on a standalone server the script keeps it,
on a cluster (where it sits in another slot) this class does, right after the script.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

import msgpack
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from auction.errors import Conflict, NotFound
from auction.log import Entry
from auction.lot import sealing
from auction.lot.config import LotConfig
from auction.lot.state import Secrets

__all__ = [
    "DUE_KEY",
    "BidBook",
    "Reply",
    "channel",
    "control_channel",
    "lot_keys",
    "published",
    "token_hash",
    "unpack",
]

log = logging.getLogger("openbid.bidbook")
DUE_KEY = "ob:due"
_LOT_PARTS = ("cfg", "st", "bidders", "plates", "answers", "log", "tokens", "plog")

AnyRedis = Redis | RedisCluster


def lot_keys(lot_id: str) -> dict[str, str]:
    """All keys of one lot, under one hash tag."""
    return {part: f"ob:{{{lot_id}}}:{part}" for part in (*_LOT_PARTS, "chain", "sessions")}


def channel(lot_id: str) -> str:
    return f"ob:{{{lot_id}}}:ev"


def control_channel(lot_id: str) -> str:
    """Messages between server processes about a lot (a bidder signed in elsewhere)."""
    return f"ob:{{{lot_id}}}:ctl"


def token_hash(token: str) -> str:
    """Tokens are stored only as their SHA-256: a leaked dump gives no one a way in."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Reply:
    """What one script call decided: one answer per command, the lot's state after them,
    and the entries appended, as the exact bytes in the log (the audit chain hashes these)."""

    answers: list[dict[str, Any]]
    state: dict[str, Any]
    now: int  # the server's TIME the commands were decided at
    raw_entries: list[bytes]

    @property
    def answer(self) -> dict[str, Any]:
        """The answer to the first (for `command`, the only) command."""
        return self.answers[0] if self.answers else {}

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [unpack(raw) for raw in self.raw_entries]


def unpack(raw: bytes) -> Any:
    return msgpack.unpackb(raw, raw=False)


def published(message: bytes) -> tuple[int, list[bytes]]:
    """One pub/sub message of a lot's channel: the decision's server time and the raw
    entries it appended, as stored in the log (Lua packs them as msgpack strings)."""
    now, entries = msgpack.unpackb(message, raw=True)
    return int(now), list(entries)


def _script(client: Any, name: str) -> AsyncScript:
    source = resources.files("server").joinpath("lua", f"{name}.lua").read_text()
    script: AsyncScript = client.register_script(source)
    return script


class BidBook:
    def __init__(self, client: AnyRedis, sealing_secret: bytes | None = None) -> None:
        """`sealing_secret` opens sealed lots' bids at their close (kept outside the store;
        every process on one store holds the same); without it they wait to be opened."""
        # redis-py's return types are unions of every decoding mode; we never decode, so
        # we hold the client untyped and type what each method returns.
        self.client: Any = client
        self.sealing_secret = sealing_secret
        self.cluster = isinstance(client, RedisCluster)
        self._lot = _script(client, "lot")
        self._create = _script(client, "create")
        self._chain = _script(client, "chain")

    def _keys(self, lot_id: str, with_due: bool = True) -> list[str]:
        keys = lot_keys(lot_id)
        names = [keys[part] for part in _LOT_PARTS]
        return names if self.cluster or not with_due else [*names, DUE_KEY]

    async def create(
        self,
        lot_id: str,
        config: LotConfig,
        secrets: Secrets,
        created: dict[str, Any],
        *,
        manual_clock: bool = False,
        now: int | None = None,
    ) -> Reply:
        """Store a new lot. `manual_clock` lots take `now` from each call instead of the
        server's TIME: for tests that must step time, never for a real lot."""
        stored = {k: v for k, v in _config_map(config).items() if v is not None}
        stored |= {"reserve_salt": secrets.reserve_salt, "lottery_seed": secrets.lottery_seed}
        if manual_clock:
            stored["manual_clock"] = True
        keys = lot_keys(lot_id)
        names = [keys["cfg"], keys["st"], keys["log"], keys["plog"]]
        if not self.cluster:
            names.append(DUE_KEY)
        args: list[bytes | str | int] = [
            _pack(stored),
            _pack(created),
            now or 0,
            channel(lot_id),
            lot_id,
        ]
        try:
            reply = self._reply(await self._create(keys=names, args=args))
        except ResponseError as error:
            if "CONFLICT" in str(error):
                raise Conflict("标的已存在", "lot exists") from None
            raise
        if self.cluster and not manual_clock:
            await self.client.zadd(DUE_KEY, {lot_id: config.opens_at})
        return reply

    async def command(
        self, lot_id: str, name: str, args: dict[str, Any] | None = None, now: int | None = None
    ) -> Reply:
        """Decide one command (`tick`, `bid`, `continue`, `accept`, `deposit`, `register`)."""
        return await self.decide(lot_id, [(name, args or {})], now)

    async def decide(
        self, lot_id: str, commands: list[tuple[str, dict[str, Any]]], now: int | None = None
    ) -> Reply:
        """Decide commands in order in one atomic call; `answers[i]` is the i-th one's. A
        sealed lot found waiting at its deadline is closed at once: this process opens its
        sealed bids with the lot's key and ticks it with them (auction/lot/sealing.py)."""
        reply = await self._decide(lot_id, commands, now)
        state = reply.state
        waiting = state.get("phase") == "sealed" and reply.now >= (state.get("deadline") or 0)
        reveal = await self._opened(lot_id) if waiting else None
        if reveal is None:
            return reply
        opened = await self._decide(lot_id, [("tick", reveal)], now)
        entries = reply.raw_entries + opened.raw_entries
        return Reply(reply.answers, opened.state, opened.now, entries)

    async def _opened(self, lot_id: str) -> dict[str, Any] | None:
        """The tick that opens a sealed lot: its bids opened with its key, or None when this
        process holds no secret, or not the one the lot's key was committed to (then the
        lot waits: a wrong key would void every bid)."""
        if self.sealing_secret is None:
            return None
        key = sealing.lot_key(self.sealing_secret, lot_id)
        created = unpack((await self.log(lot_id, 0, 1))[0])
        if created.get("sealing_commitment") != sealing.sealing_commitment(key):
            log.error("lot %s: this process's sealing secret is not the one its bids were "
                      "sealed with; it waits at its deadline", lot_id)  # fmt: skip
            return None
        bidders = await self.bidders(lot_id)
        boxes = {b: found["sealed_box"] for b, found in bidders.items() if found.get("sealed_box")}
        return {"opened": sealing.open_all(key, lot_id, boxes), "key": key.hex()}

    async def _decide(
        self, lot_id: str, commands: list[tuple[str, dict[str, Any]]], now: int | None
    ) -> Reply:
        argv: list[bytes | str | int] = [_pack(commands), now or 0, channel(lot_id), lot_id]
        try:
            reply = self._reply(await self._lot(keys=self._keys(lot_id), args=argv))
        except ResponseError as error:
            if "NOT_FOUND" in str(error):
                raise NotFound("lot") from None
            raise
        if self.cluster and reply.raw_entries:
            await self._track_due(lot_id, reply.state)
        return reply

    async def _track_due(self, lot_id: str, state: dict[str, Any]) -> None:
        deadline = state.get("deadline")
        if deadline is None:
            await self.client.zrem(DUE_KEY, lot_id)
        else:
            await self.client.zadd(DUE_KEY, {lot_id: deadline})

    @staticmethod
    def _reply(raw: list[bytes]) -> Reply:
        # Lua packs an empty table (a tick's answer) as an empty list
        answers = [a if isinstance(a, dict) else {} for a in unpack(raw[0])]
        return Reply(answers, unpack(raw[1]), int(raw[2]), list(raw[3:]))

    async def exists(self, lot_id: str) -> bool:
        return bool(await self.client.exists(lot_keys(lot_id)["cfg"]))

    async def config(self, lot_id: str) -> dict[str, Any] | None:
        """The stored config, secrets included: for the server's own use, never to send."""
        raw = await self.client.get(lot_keys(lot_id)["cfg"])
        return None if raw is None else dict(unpack(raw))

    async def bidder_for_token(self, lot_id: str, token: str) -> str | None:
        found = await self.client.hget(lot_keys(lot_id)["tokens"], token_hash(token))
        return None if found is None else found.decode()

    async def bidder(self, lot_id: str, bidder_id: str) -> dict[str, Any] | None:
        raw = await self.client.hget(lot_keys(lot_id)["bidders"], bidder_id)
        return None if raw is None else dict(unpack(raw))

    async def bidders(self, lot_id: str) -> dict[str, dict[str, Any]]:
        raw = await self.client.hgetall(lot_keys(lot_id)["bidders"])
        return {k.decode(): unpack(v) for k, v in raw.items()}

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

    # ---- the live rooms' feed (streaming/hub.py `Feed`) --------------------------------

    def channels(self, log_id: str) -> tuple[str, str]:
        return channel(log_id), control_channel(log_id)

    def log_of(self, name: bytes) -> tuple[str, bool]:
        text = name.decode()
        return text.split("{", 1)[1].rsplit("}", 1)[0], text.endswith(":ctl")

    def decode(self, message: bytes) -> tuple[int, list[Entry]]:
        now, raws = published(message)
        return now, [unpack(raw) for raw in raws]

    async def entries_after(self, log_id: str, seq: int) -> list[Entry]:
        return [unpack(raw) for raw in await self.log(log_id, seq)]

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

    async def extend_chain(self, lot_id: str, first: int, head: str, hashes: list[str]) -> int:
        """Compare-and-set; returns where the chain stands (moved by another if not ours)."""
        keys = [lot_keys(lot_id)["chain"]]
        return int(await self._chain(keys=keys, args=[first, head, *hashes]))

    async def due(self, until: int, count: int = 100) -> list[str]:
        found = await self.client.zrangebyscore(DUE_KEY, "-inf", until, start=0, num=count)
        return [lot.decode() for lot in found]

    async def next_due(self) -> int | None:
        first = await self.client.zrange(DUE_KEY, 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    async def server_time(self) -> int:
        seconds, micros = await self.client.time()
        return int(seconds) * 1000 + int(micros) // 1000


def _config_map(config: LotConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed
