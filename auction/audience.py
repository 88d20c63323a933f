"""Who sees what of a log (security review and R5): the audiences are rules, so they live
with the rules.

Public viewers get only entries marked public, without the client's own `bid_id` (nor, in
an opening, a handed-over key or a bid before the read-out); never a bidder's name, never
the reserve before the `closed` entry reveals it. A bidder also sees its own private
entries (its refusals, deposits, sealed bid) and its own `bid_id`s; staff see every entry.

Sequence numbers (R5): staff see the audit `seq` (and `pseq`). Everyone else sees `seq` =
the public sequence `pseq`, gapless for them: a bidder's own private entry carries the
public count it follows and `private: true`, and does not move the public cursor.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PRIVATE_FIELDS",
    "STAFF",
    "admin_event",
    "audience",
    "bidder_answer",
    "bidder_event",
    "entry_view",
    "public_event",
]

STAFF = ("admin", "supervisor")  # who sees every entry, numbered as in the audit log
PRIVATE_FIELDS = ("pub", "bid_id", "key", "bid", "pseq")  # key, bid: an opening's, until 唱标


def public_event(entry: dict[str, Any]) -> dict[str, Any] | None:
    if not entry.get("pub"):
        return None
    return {k: v for k, v in entry.items() if k not in PRIVATE_FIELDS} | {"seq": entry["pseq"]}


def bidder_event(entry: dict[str, Any], plate: str) -> dict[str, Any] | None:
    if entry.get("plate") != plate:
        return public_event(entry)
    own = {k: v for k, v in entry.items() if k not in ("pub", "pseq")} | {"seq": entry["pseq"]}
    return own if entry.get("pub") else own | {"private": True}


def bidder_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer as a bidder sees it: `seq` in the public sequence (the position of a
    private entry), so an ack counts nothing the rules keep secret."""
    if "pseq" not in answer:
        return answer
    return {k: v for k, v in answer.items() if k != "pseq"} | {"seq": answer["pseq"]}


def admin_event(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "pub"}


def audience(role: str, plate: str | None, entry_plate: str | None) -> str:
    """Which view of an entry (by `entry_plate`, its bidder's plate) a member sees:
    "admin", "own" (its own entry) or "public"."""
    if role in STAFF:
        return "admin"
    if plate is not None and entry_plate == plate:
        return "own"
    return "public"


def entry_view(entry: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The entry as audience `key` sees it; None when it may not see it at all."""
    if key == "admin":
        return admin_event(entry)
    if key == "own":
        return bidder_event(entry, entry["plate"])
    return public_event(entry)
