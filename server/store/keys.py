"""Every key and channel OpenBid names in the store: the only module that spells one.

Every key of a lot or an opening carries its id as the hash tag (`ob:{id}:…`), so it lives
in one cluster slot and one script call decides atomically. The due sets and the hall's
lists are the only keys outside a hash tag; on a cluster each is one slot. The transparency
log's keys share the tag `{tlog}`, the staff's `{staff}`, the party library's and the
blacklist's `{parties}`, the platform's money registers `{money}` (no lot's or opening's
id, which are hex, can be any of them).
"""

from __future__ import annotations

import hashlib

__all__ = [
    "BARRIER_KEY",
    "HALL_KEYS",
    "LOT_DUE_KEY",
    "LOT_PARTS",
    "MONEY_KEYS",
    "OPENING_DUE_KEY",
    "PARTY_KEYS",
    "STAFF_KEYS",
    "TLOG_KEYS",
    "channel",
    "control_channel",
    "document_key",
    "lot_keys",
    "money_day",
    "opening_keys",
    "party_listings",
    "party_venues",
    "stream_key",
    "tlog_entries",
    "tlog_index",
    "tlog_level",
    "token_hash",
    "traces_key",
]

LOT_DUE_KEY = "ob:due"  # lot id -> its next deadline
OPENING_DUE_KEY = "ob:due:openings"  # opening id -> its next deadline
BARRIER_KEY = "ob:barrier"  # a counter written to wait for the replicas (server/store/acks.py)
HALL_KEYS = {"lot": "ob:hall:lots", "opening": "ob:hall:openings"}  # by when each starts
STAFF_KEYS = {  # staff_id -> the person's record; a token's SHA-256 -> staff_id
    "people": "ob:{staff}:people",
    "tokens": "ob:{staff}:tokens",
}
PARTY_KEYS = {  # the party library and the blacklist, in one slot (tag {parties})
    "people": "ob:{parties}:people",  # party_id -> the party's record
    "tokens": "ob:{parties}:tokens",  # a token's SHA-256 -> party_id
    "codes": "ob:{parties}:codes",  # credit code -> party_id: one party per code
    "listed": "ob:{parties}:listed",  # the credit codes the blacklist holds (a set)
}
MONEY_KEYS = {  # what the bank's callbacks are checked against, platform-wide (tag {money})
    "accounts": "ob:{money}:accounts",  # sub-account number -> [lot id, bidder id]
    "refs": "ob:{money}:refs",  # a bank ref's keyed hash -> the lot it paid into
    "guarantees": "ob:{money}:guarantees",  # a guarantee number's keyed hash -> [lot, bidder]
}


def money_day(day: str) -> str:
    """The lots whose money moved on `day` (YYYY-MM-DD, Beijing): the day's reconciliation."""
    return f"ob:{{money}}:day:{day}"


TLOG_KEYS = {  # the transparency log: one tree over every log, in one slot; its anchors
    part: f"ob:{{tlog}}:{part}"  # (RFC 3161 tokens by size, their sizes, the TSA's lease)
    for part in ("size", "dirty", "checkpoint", "lock", "anchors", "anchored", "anchoring")
}
LOT_PARTS = ("cfg", "st", "bidders", "plates", "answers", "log", "tokens", "plog")  # lot.lua's


def lot_keys(lot_id: str) -> dict[str, str]:
    """All keys of one lot, under one hash tag."""
    # clear: blinded value -> the name or ref it hides, sealed (auction/lot/vault.py); keys:
    # bidder id -> its public key; parties: bidder id -> its party's id (the library's)
    extra = ("chain", "sessions", "clear", "keys", "parties")
    return {part: f"ob:{{{lot_id}}}:{part}" for part in (*LOT_PARTS, *extra)}


def opening_keys(opening_id: str) -> dict[str, str]:
    shared = lot_keys(opening_id)  # log, chain, sessions, tokens: the same names as a lot's
    parts = ("opening", "env", "envbytes")
    return shared | {part: f"ob:{{{opening_id}}}:{part}" for part in parts}


def stream_key(opening_id: str) -> str:
    """Which worker holds the opening's livestream (server/store/streams.py)."""
    return f"ob:{{{opening_id}}}:video"


def traces_key(venue_id: str) -> str:
    """What a lot's or an opening's bidders were seen from, for the supervisor's collusion
    signals (server/store/traces.py): a capped stream, never published."""
    return f"ob:{{{venue_id}}}:traces"


def party_venues(party_id: str) -> str:
    """Where a party registered, in order: a list of packed {kind, id, bidder_id}."""
    return f"ob:{{parties}}:in:{party_id}"


def party_listings(credit_code: str) -> str:
    """A credit code's blacklist entries: "source|from" -> the packed entry."""
    return f"ob:{{parties}}:bl:{credit_code}"


def tlog_level(level: int) -> str:
    """The tree's nodes at `level`, 32 bytes each, by index."""
    return f"ob:{{tlog}}:n:{level}"


def tlog_index(log_id: str) -> str:
    """Where each entry of a log is in the tree: 8 bytes per seq, from seq 1."""
    return f"ob:{{tlog}}:at:{log_id}"


def tlog_entries(log_id: str) -> str:
    """Where each entry of a log is in the tree, by the SHA-256 of its bytes."""
    return f"ob:{{tlog}}:by:{log_id}"


def document_key(venue_id: str, name: str) -> str:
    """A lot's or an opening's signed document (PDF), as first built."""
    return f"ob:{{{venue_id}}}:pdf:{name}"


def channel(lot_id: str) -> str:
    return f"ob:{{{lot_id}}}:ev"


def control_channel(lot_id: str) -> str:
    """Messages between server processes about a lot (a bidder signed in elsewhere)."""
    return f"ob:{{{lot_id}}}:ctl"


def token_hash(token: str) -> str:
    """Tokens are stored only as their SHA-256: a leaked dump gives no one a way in."""
    return hashlib.sha256(token.encode()).hexdigest()
