"""The party library (交易主体库) and the blacklist (失信名单) as the store keeps them.

A party is kept by `party_id` (name, credit code, account, contact, when it registered);
its token only as its SHA-256; each credit code names one party (party.lua sets both at
once). Where a party registered is a list per party, and which party a lot's or an
opening's bidder is sits with the venue (`lot_keys(...)["parties"]`): both links sealed
with the vault (auction/lot/vault.py), since either ties a company to its plate, which the
store's readers must not learn before the close (R9). The blacklist keeps each credit
code's entries in a hash of its own, by "source|from" (an entry imported again replaces
itself), with the set of listed codes; an import is one MULTI/EXEC, all or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from auction.lot import vault
from server.store.keys import PARTY_KEYS, lot_keys, party_listings, party_venues, token_hash
from server.store.scripts import pack, script, unpack

__all__ = ["PartyBook"]

KEYS = [PARTY_KEYS["people"], PARTY_KEYS["tokens"], PARTY_KEYS["codes"]]


class PartyBook:
    def __init__(self, client: Any, vault_key: Callable[[str], bytes]) -> None:
        """`vault_key`: the vault key of a venue (or of a party's own list, by its key)."""
        self.client: Any = client
        self._add = script(client, "party")
        self._key = vault_key

    async def add(self, party_id: str, token: str, record: dict[str, Any]) -> bool:
        """Keep a new party; False (nothing kept) when its credit code has one already."""
        args = [party_id, token_hash(token), record["credit_code"], pack(record)]
        return bool(await self._add(keys=KEYS, args=args))

    async def by_token(self, token: str) -> tuple[str, dict[str, Any]] | None:
        party_id = await self.client.hget(PARTY_KEYS["tokens"], token_hash(token))
        if party_id is None:
            return None
        found = await self.party(party_id.decode())
        return None if found is None else (party_id.decode(), found)

    async def party(self, party_id: str) -> dict[str, Any] | None:
        raw = await self.client.hget(PARTY_KEYS["people"], party_id)
        return None if raw is None else dict(unpack(raw))

    async def joined(self, party_id: str, kind: str, venue_id: str, bidder_id: str) -> None:
        """Note that the party registered as `bidder_id` in a lot or an opening (`kind`)."""
        where = {"kind": kind, "id": venue_id, "bidder_id": bidder_id}
        listed = party_venues(party_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(
            lot_keys(venue_id)["parties"],
            bidder_id,
            vault.seal_text(self._key(venue_id), venue_id, f"party|{bidder_id}", party_id),
        )
        pipe.rpush(listed, vault.seal_text(self._key(listed), listed, "venue", json.dumps(where)))
        await pipe.execute()  # fmt: skip

    async def venues(self, party_id: str) -> list[dict[str, Any]]:
        """Where the party registered; an entry that does not open (another secret, or
        moved in the store) is left out."""
        listed = party_venues(party_id)
        key = self._key(listed)
        opened = [vault.open_text(key, listed, "venue", raw)
                  for raw in await self.client.lrange(listed, 0, -1)]  # fmt: skip
        return [json.loads(where) for where in opened if where is not None]

    async def party_of(self, venue_id: str, bidder_id: str) -> str | None:
        """The party a bidder of a lot or an opening is, None for one typed in by name (or
        a link that does not open as this bidder's)."""
        raw = await self.client.hget(lot_keys(venue_id)["parties"], bidder_id)
        if raw is None:
            return None
        return vault.open_text(self._key(venue_id), venue_id, f"party|{bidder_id}", raw)

    async def put_listed(self, entries: Sequence[dict[str, Any]]) -> None:
        """Put every entry on the blacklist at once (each replaces its own earlier import)."""
        pipe = self.client.pipeline(transaction=True)
        for entry in entries:
            field = f"{entry['source']}|{entry['from']}"
            pipe.hset(party_listings(entry["credit_code"]), field, pack(entry))
            pipe.sadd(PARTY_KEYS["listed"], entry["credit_code"])
        await pipe.execute()

    async def listings(self, credit_code: str) -> list[dict[str, Any]]:
        raw = await self.client.hvals(party_listings(credit_code))
        return [unpack(value) for value in raw]

    async def blacklist(self) -> list[dict[str, Any]]:
        """Every entry, by credit code."""
        codes = sorted(c.decode() for c in await self.client.smembers(PARTY_KEYS["listed"]))
        pipe = self.client.pipeline(transaction=False)
        for code in codes:
            pipe.hvals(party_listings(code))
        found = await pipe.execute() if codes else []
        return [unpack(raw) for values in found for raw in sorted(values)]
