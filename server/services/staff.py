"""Who on the trading centre's side is asking: personal staff credentials.

Each person has a role: the host (主持人; "admin" in the rooms and the code, who acts), the
supervisor (监督, who reads everything the host reads and co-signs), the bank (whose deposit
callbacks it signs with HMAC) and a guarantee issuer. `OPENBID_ADMIN_TOKEN` and
`OPENBID_SUPERVISOR_TOKEN` keep working as the first host (`host-0`) and supervisor
(`supervisor-0`). Every staff action the log keeps names its person (`actor`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from auction.audience import STAFF as STAFF_ROLES
from auction.checks import check_text
from auction.errors import BadMessage, Conflict, Forbidden, NotFound, Unauthorized
from server.store.staff import StaffBook

__all__ = ["ROLES", "Staff", "StaffDesk", "add_person"]

ROLES = {"host": "admin", "supervisor": "supervisor", "bank": "bank", "issuer": "issuer"}
SIGNING = ("bank", "issuer")  # their callbacks carry an HMAC under a secret of their own
MAX_TOKEN = 256


@dataclass(frozen=True, slots=True)
class Staff:
    staff_id: str
    name: str
    role: str  # "admin" (the host), "supervisor", "bank" or "issuer"
    secret: bytes | None = None  # a bank's or an issuer's HMAC secret

    @property
    def by(self) -> str:
        """The role as the rules and the log name it."""
        return "host" if self.role == "admin" else self.role


def _same(token: str, known: str) -> bool:
    """Constant-time equality of two tokens as bytes (compare_digest refuses non-ASCII str)."""
    return secrets.compare_digest(token.encode(), known.encode())


class StaffDesk:
    def __init__(self, book: StaffBook, admin_token: str, supervisor_token: str | None) -> None:
        self.book = book
        self._first = [(admin_token, Staff("host-0", "主持人", "admin"))]
        if supervisor_token:
            self._first.append((supervisor_token, Staff("supervisor-0", "监督人", "supervisor")))
        self.metrics_token: str | None = None  # a scraper's: reads /metrics and nothing else

    async def who(self, token: str | None) -> Staff | None:
        """The person a token is, if it is a staff token and not revoked."""
        if token is None or len(token) > MAX_TOKEN:
            return None
        for known, staff in self._first:
            if _same(token, known):
                return staff
        found = await self.book.by_token(token)
        if found is None or found[1].get("revoked_at") is not None:
            return None
        staff_id, record = found
        secret = record.get("secret")
        return Staff(staff_id, record["name"], record["role"],
                     bytes.fromhex(secret) if secret else None)  # fmt: skip

    async def staff_role(self, token: str | None) -> str | None:
        """The reading role of a token: "admin" (the host, who acts), "supervisor" (who sees
        everything the host sees and co-signs) or None (a bank's, an issuer's, anyone's)."""
        found = await self.who(token)
        return found.role if found is not None and found.role in STAFF_ROLES else None

    async def require_admin(self, token: str | None) -> Staff:
        """The host asking; Unauthorized without a token, Forbidden for anyone else."""
        return await self.require(token, "admin")

    async def require_staff(self, token: str | None) -> Staff:
        """Reading what only the trading centre may read: the host or the supervisor."""
        return await self.require(token, *STAFF_ROLES)

    async def require(self, token: str | None, *roles: str) -> Staff:
        if token is None:
            raise Unauthorized()
        found = await self.who(token)
        if found is None or found.role not in roles:
            raise Forbidden()  # a bidder's, a revoked or an unknown token alike
        return found

    async def require_metrics_reader(self, token: str | None) -> None:
        if token is None:
            raise Unauthorized()
        scraper = self.metrics_token is not None and _same(token, self.metrics_token)
        if not scraper and await self.staff_role(token) is None:
            raise Forbidden()

    async def add(self, raw: object, now: int) -> dict[str, Any]:
        """A new person: their id and token (and secret), shown this once."""
        return await add_person(self.book, raw, now)

    async def revoke(self, staff_id: str, now: int) -> None:
        if any(staff.staff_id == staff_id for _, staff in self._first):
            raise Conflict("该凭证来自环境变量，请更换环境变量",
                           "this credential is the environment's: change the variable")  # fmt: skip
        if not await self.book.revoke(staff_id, now):
            raise NotFound("staff")

    async def everyone(self) -> list[dict[str, Any]]:
        people: list[dict[str, Any]] = [
            {"staff_id": s.staff_id, "name": s.name, "role": s.by} for _, s in self._first
        ]
        for staff_id, record in sorted((await self.book.everyone()).items()):
            role = "host" if record["role"] == "admin" else record["role"]
            people.append({"staff_id": staff_id, "name": record["name"], "role": role,
                           "revoked_at": record.get("revoked_at")})  # fmt: skip
        return people


async def add_person(book: StaffBook, raw: object, now: int) -> dict[str, Any]:
    """A new person of the staff (`{"name", "role"}`), kept in `book`: their id and
    token (and a bank's or an issuer's secret), to be shown this once."""
    body = raw if isinstance(raw, dict) else {}
    name = check_text("name", body.get("name"), 100)
    role = body.get("role")
    if role not in ROLES:
        raise BadMessage("role", "须为 host、supervisor、bank 或 issuer",
                         "must be host, supervisor, bank or issuer")  # fmt: skip
    staff_id, token = "s" + secrets.token_hex(6), secrets.token_urlsafe(32)
    secret = secrets.token_hex(32) if role in SIGNING else None
    record = {"name": name, "role": ROLES[role], "added_at": now, "secret": secret}
    await book.add(staff_id, token, record)
    made: dict[str, Any] = {"staff_id": staff_id, "name": name, "role": role, "token": token}
    return made | ({"hmac_secret": secret} if secret else {})
