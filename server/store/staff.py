"""The trading centre's staff: one personal credential per person, by role.

A person is kept by `staff_id` (name, role, when added, when revoked, and for a bank or a
guarantee issuer the secret its callbacks are signed with); a token only as its SHA-256,
mapping to the person. Revoking keeps the record (the log names the person) and drops the
token.
"""

from __future__ import annotations

from typing import Any

from server.store.keys import STAFF_KEYS, token_hash
from server.store.scripts import pack, unpack

__all__ = ["StaffBook"]


class StaffBook:
    def __init__(self, client: Any) -> None:
        self.client: Any = client

    async def add(self, staff_id: str, token: str, record: dict[str, Any]) -> None:
        pipe = self.client.pipeline(transaction=False)  # the record first: a token never
        pipe.hset(STAFF_KEYS["people"], staff_id, pack(record))  # points at nobody
        pipe.hset(STAFF_KEYS["tokens"], token_hash(token), staff_id)
        await pipe.execute()

    async def by_token(self, token: str) -> tuple[str, dict[str, Any]] | None:
        staff_id = await self.client.hget(STAFF_KEYS["tokens"], token_hash(token))
        if staff_id is None:
            return None
        found = await self.person(staff_id.decode())
        return None if found is None else (staff_id.decode(), found)

    async def person(self, staff_id: str) -> dict[str, Any] | None:
        raw = await self.client.hget(STAFF_KEYS["people"], staff_id)
        return None if raw is None else dict(unpack(raw))

    async def everyone(self) -> dict[str, dict[str, Any]]:
        raw = await self.client.hgetall(STAFF_KEYS["people"])
        return {k.decode(): unpack(v) for k, v in raw.items()}

    async def revoke(self, staff_id: str, at: int) -> bool:
        """Drop the person's tokens, keep the record marked revoked; False if unknown."""
        found = await self.person(staff_id)
        if found is None:
            return False
        tokens = await self.client.hgetall(STAFF_KEYS["tokens"])
        theirs = [hashed for hashed, owner in tokens.items() if owner.decode() == staff_id]
        if theirs:
            await self.client.hdel(STAFF_KEYS["tokens"], *theirs)
        if found.get("revoked_at") is None:
            found["revoked_at"] = at
            await self.client.hset(STAFF_KEYS["people"], staff_id, pack(found))
        return True
