"""The lot book: the Python face of the Lua scripts that decide every command on a lot.

One `LotBook` per process, over one redis-py asyncio client (standalone or cluster). Every
key of a lot carries the hash tag `{lot_id}`, so a lot lives in one cluster slot and one
script call decides atomically (keys.py). The due set (lot id -> next deadline) lets any
process's timer find lots whose phase must move; on a standalone server the script keeps it,
on a cluster (where it sits in another slot) this class does, right after the script.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from auction.errors import Conflict, NotFound, StoreUnavailable
from auction.lot import blinding, sealing, vault
from auction.lot.config import LotConfig
from auction.lot.state import Secrets
from server.store.acks import Acks
from server.store.due import DueSet
from server.store.keys import LOT_DUE_KEY, LOT_PARTS, channel, lot_keys, token_hash
from server.store.logs import Logs
from server.store.scripts import pack, script, unpack

__all__ = ["AnyRedis", "LotBook", "LotDecision"]

log = logging.getLogger("openbid.bidbook")

AnyRedis = Redis | RedisCluster


@dataclass(frozen=True, slots=True)
class LotDecision:
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


class LotBook:
    def __init__(
        self, client: AnyRedis, sealing_secret: bytes | None = None, acks: Acks | None = None
    ) -> None:
        """`sealing_secret` opens sealed lots' bids at their close (kept outside the store;
        every process on one store holds the same); without it they wait to be opened.
        `acks`: a decision stands, and is published, only once its replicas wrote it to
        their append-only files (server/store/acks.py; else StoreUnavailable: a resent
        bid_id tells later whether it was decided)."""
        # redis-py's return types are unions of every decoding mode; we never decode, so
        # we hold the client untyped and type what each method returns.
        self.client: Any = client
        self.sealing_secret = sealing_secret
        self._secret = sealing_secret or os.urandom(32)  # blinds names and refs, and seals
        self._reserves: dict[str, bytes] = {}  # lot id -> its reserve opened, as ARGV[5] takes it
        self._plates: dict[tuple[str, str], str] = {}  # (lot id, bidder id) -> its plate
        self.cluster = isinstance(client, RedisCluster)
        self.acks = acks or Acks(client)
        if self.acks.replicas and self.cluster:
            raise ValueError("ack_replicas needs one primary (a URL or Sentinel), not a cluster")
        self._lot = script(client, "lot")
        self._create = script(client, "create")
        self.due = DueSet(client, LOT_DUE_KEY)
        self.logs = Logs(client)  # the lots' logs, and the openings' beside them

    def _keys(self, lot_id: str, with_due: bool = True) -> list[str]:
        keys = lot_keys(lot_id)
        names = [keys[part] for part in LOT_PARTS]
        return names if self.cluster or not with_due else [*names, LOT_DUE_KEY]

    async def create(
        self,
        lot_id: str,
        config: LotConfig,
        secrets: Secrets,
        created: dict[str, Any],
        *,
        manual_clock: bool = False,
        now: int | None = None,
    ) -> LotDecision:
        """Store a new lot. `manual_clock` lots take `now` from each call instead of the
        server's TIME: for tests that must step time, never for a real lot."""
        stored = {k: v for k, v in _config_map(config).items() if v is not None}
        stored["lottery_seed"] = secrets.lottery_seed
        if config.reserve is not None:  # never at rest in the store until the close (R9)
            del stored["reserve"]
            key = self.vault_key(lot_id)
            stored["reserve_box"] = vault.seal_reserve(key, lot_id, config.reserve,
                                                       secrets.reserve_salt)  # fmt: skip
        if manual_clock:
            stored["manual_clock"] = True
        keys = lot_keys(lot_id)
        names = [keys["cfg"], keys["st"], keys["log"], keys["plog"]]
        if not self.cluster:
            names.append(LOT_DUE_KEY)
        args: list[bytes | str | int] = [
            pack(stored),
            pack(created),
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
            await self.due.track(lot_id, config.opens_at)
        return reply

    async def command(
        self, lot_id: str, name: str, args: dict[str, Any] | None = None, now: int | None = None
    ) -> LotDecision:
        """Decide one command (`tick`, `bid`, `continue`, `accept`, `deposit`, `register`)."""
        return await self.decide(lot_id, [(name, args or {})], now)

    async def decide(
        self, lot_id: str, commands: list[tuple[str, dict[str, Any]]], now: int | None = None
    ) -> LotDecision:
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
        return LotDecision(reply.answers, opened.state, opened.now, entries)

    async def _opened(self, lot_id: str) -> dict[str, Any] | None:
        """The tick that opens a sealed lot: its bids opened with its key, or None when this
        process holds no secret, or not the one the lot's key was committed to (then the
        lot waits: a wrong key would void every bid)."""
        if self.sealing_secret is None:
            return None
        key = sealing.lot_key(self.sealing_secret, lot_id)
        created = unpack((await self.logs.log(lot_id, 0, 1))[0])
        if created.get("sealing_commitment") != sealing.sealing_commitment(key):
            log.error("lot %s: this process's sealing secret is not the one its bids were "
                      "sealed with; it waits at its deadline", lot_id)  # fmt: skip
            return None
        bidders = await self.bidders(lot_id)
        boxes = {b: found["sealed_box"] for b, found in bidders.items() if found.get("sealed_box")}
        return {"opened": sealing.open_all(key, lot_id, boxes), "key": key.hex()}

    async def _decide(
        self, lot_id: str, commands: list[tuple[str, dict[str, Any]]], now: int | None
    ) -> LotDecision:
        reserve = await self._reserve(lot_id)
        waits = bool(self.acks.replicas)
        said = "" if waits else channel(lot_id)  # else published here, once replicated
        argv: list[bytes | str | int] = [pack(commands), now or 0, said, lot_id, reserve]
        try:
            raw = await self.acks.written(
                lambda connection: self._lot(keys=self._keys(lot_id), args=argv,
                                             client=connection),
                f"lot {lot_id}: a decision",
            )  # fmt: skip
        except ResponseError as error:
            if "NOT_FOUND" in str(error):
                raise NotFound("lot") from None
            raise
        reply = self._reply(raw)
        if self.cluster and reply.raw_entries:
            await self.due.track(lot_id, reply.state.get("deadline"))
        if waits and reply.raw_entries:  # a confirmed decision covers any unconfirmed before
            await self.client.publish(channel(lot_id), pack([reply.now, reply.raw_entries]))
        return reply

    @staticmethod
    def _reply(raw: list[bytes]) -> LotDecision:
        # Lua packs an empty table (a tick's answer) as an empty list
        answers = [a if isinstance(a, dict) else {} for a in unpack(raw[0])]
        return LotDecision(answers, unpack(raw[1]), int(raw[2]), list(raw[3:]))

    async def _reserve(self, lot_id: str) -> bytes:
        """The lot's reserve and salt opened, as the script takes them with each call (b""
        for a lot without one): they are in the store only sealed (auction/lot/vault.py).
        StoreUnavailable when this process's secret does not open them: the lot then waits
        for a process that holds the right one, as a sealed lot does."""
        found = self._reserves.get(lot_id)
        if found is None:
            raw = await self.client.get(lot_keys(lot_id)["cfg"])
            box = None if raw is None else unpack(raw).get("reserve_box")
            opened = (
                None if box is None else vault.open_reserve(self.vault_key(lot_id), lot_id, box)
            )
            if box is not None and opened is None:
                log.error("lot %s: this process's secret does not open its reserve", lot_id)
                raise StoreUnavailable()
            found = b"" if opened is None else pack(list(opened))
            if len(self._reserves) > 100_000:
                self._reserves.clear()
            if raw is not None:  # an unknown lot is not remembered
                self._reserves[lot_id] = found
        return found

    async def exists(self, lot_id: str) -> bool:
        return bool(await self.client.exists(lot_keys(lot_id)["cfg"]))

    async def config(self, lot_id: str) -> dict[str, Any] | None:
        """The stored config, secrets included (the reserve opened): for the server's own
        use, never to send."""
        raw = await self.client.get(lot_keys(lot_id)["cfg"])
        if raw is None:
            return None
        found = dict(unpack(raw))
        box = found.pop("reserve_box", None)
        opened = None if box is None else vault.open_reserve(self.vault_key(lot_id), lot_id, box)
        if opened is not None:
            found["reserve"], found["reserve_salt"] = opened
        return found

    async def bidder_for_token(self, lot_id: str, token: str) -> str | None:
        found = await self.client.hget(lot_keys(lot_id)["tokens"], token_hash(token))
        return None if found is None else found.decode()

    async def bidder(self, lot_id: str, bidder_id: str) -> dict[str, Any] | None:
        raw = await self.client.hget(lot_keys(lot_id)["bidders"], bidder_id)
        return None if raw is None else dict(unpack(raw))

    async def plate(self, lot_id: str, bidder_id: str) -> str:
        """A bidder's plate ("" for none), read once a process: a plate never changes, and a
        signed bid's message names it."""
        known = self._plates.get((lot_id, bidder_id))
        if known is None:
            found = await self.bidder(lot_id, bidder_id)
            if found is None:
                return ""
            if len(self._plates) > 100_000:
                self._plates.clear()
            known = self._plates[(lot_id, bidder_id)] = str(found["plate"])
        return known

    async def bidders(self, lot_id: str, named: bool = True) -> dict[str, dict[str, Any]]:
        """Every bidder, with its name in clear (the log and the bidder rows hold it
        blinded, auction/lot/blinding.py), or blinded as logged unless `named`."""
        raw = await self.client.hgetall(lot_keys(lot_id)["bidders"])
        clear = await self.clear_values(lot_id) if named else {}
        found = {k.decode(): unpack(v) for k, v in raw.items()}
        for bidder in found.values():
            bidder["name"] = clear.get(bidder.get("name"), bidder.get("name"))
        return found

    async def keep_clear(self, lot_id: str, blinded: str, value: str) -> None:
        """Keep the name or ref that `blinded` hides (sealed, auction/lot/vault.py),
        before a command logs it blinded."""
        sealed = vault.seal_text(self.vault_key(lot_id), lot_id, blinded, value)
        await self.client.hset(lot_keys(lot_id)["clear"], blinded, sealed)

    async def clear_values(self, lot_id: str) -> dict[str, str]:
        """Every name and ref behind the lot's blinded values, opened; one that does not
        open as its own (another secret, or moved in the store) is left out."""
        raw = await self.client.hgetall(lot_keys(lot_id)["clear"])
        key = self.vault_key(lot_id)
        opened = {k.decode(): vault.open_text(key, lot_id, k.decode(), v) for k, v in raw.items()}
        return {blinded: value for blinded, value in opened.items() if value is not None}

    def blinding_key(self, lot_id: str) -> bytes:
        return blinding.blinding_key(self._secret, lot_id)

    def vault_key(self, lot_id: str) -> bytes:
        return vault.vault_key(self._secret, lot_id)


def _config_map(config: LotConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__dataclass_fields__}
