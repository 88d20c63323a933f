"""What lots and openings share: the entries a step writes, the step itself, the clock's
`Tick`, and the audit log's hash chain and replay loop.

Chain: `h_0 = sha256("openbid-audit-v1:" + log_id)`, `h_n = sha256(h_{n-1} || entry_n)` over
the entry's exact bytes as the store keeps them. Redis's Lua has no SHA-256, so the server
computes the chain right after the script appended (server/store/chainer.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from auction.errors import BadMessage

__all__ = [
    "Discrepancy",
    "Entry",
    "EntryLog",
    "Step",
    "Tick",
    "genesis",
    "leaf",
    "link",
    "replay_steps",
]

S = TypeVar("S")
# the kinds a bidder's signature goes on: a lot's, then an opening's
SIGNED = (
    "bid",
    "indicator",
    "continue",
    "accept",
    "envelope",
    "signed_in",
    "confirmed",
    "objection",
)
Entry = dict[str, Any]  # one log entry: seq, ts, kind, pub and the kind's fields
T = TypeVar("T")


class EntryLog:
    """The entries one step writes, numbered on from a state's `seq`, their time never
    before its `ts`; `stamp` gives the state the log's seq, pseq and ts afterwards.

    `seq` numbers every entry (the audit log, which staff see). `pseq` numbers the public
    ones alone (R5): a public entry carries its own, a private one the public count so far.
    The public counts and resumes by `pseq`, so the gaps that registrations, deposits,
    sealed bids or refusals leave in `seq` show nobody what the rules keep secret."""

    def __init__(self, state: Any) -> None:
        self.seq: int = state.seq
        self.pseq: int = state.pseq
        self.ts: int = state.ts
        self.entries: list[Entry] = []
        # a bidder's signature of the command being decided: it goes on the first entry the
        # command writes of a SIGNED kind (its accepted bid, continue or accept), only there
        self.signing: str | None = None

    def add(self, ts: int, kind: str, pub: bool, **fields: Any) -> int:
        self.seq += 1
        self.pseq += pub
        self.ts = max(self.ts, ts)
        if self.signing is not None and kind in SIGNED:
            fields["sig"], self.signing = self.signing, None
        entry = {"seq": self.seq, "pseq": self.pseq, "ts": self.ts, "kind": kind, "pub": pub}
        self.entries.append(entry | fields)
        return self.seq

    def with_pseq(self, answer: dict[str, Any]) -> dict[str, Any]:
        """An answer naming an entry of this step (`seq`) with that entry's `pseq` too."""
        seq = answer.get("seq")
        if seq is None or "pseq" in answer or not self.entries or seq < self.entries[0]["seq"]:
            return answer
        return answer | {"pseq": self.entries[seq - self.entries[0]["seq"]]["pseq"]}

    def stamp(self, state: T) -> T:
        return replace(state, seq=self.seq, pseq=self.pseq, ts=self.ts)  # type: ignore[type-var]


@dataclass(frozen=True, slots=True)
class Step(Generic[S]):
    """What deciding one command (or the clock) did: the state after it, the entries it
    wrote and the answer its sender gets."""

    state: S
    entries: list[Entry]
    answer: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """No command: only let the clock move the lot to where it should be. A sealed lot's
    close needs its bids opened: `opened` (bidder id -> price, for each sealed bid that
    opened) and the sealing `key` (hex) that opened them, which the close logs."""

    opened: Mapping[str, int] | None = None
    key: str | None = None


class Discrepancy(Exception):
    """The log and the rules disagree; `seq` is the first entry where they do."""

    def __init__(self, seq: int, what: str) -> None:
        super().__init__(f"seq {seq}: {what}")
        self.seq = seq


def genesis(lot_id: str) -> str:
    return hashlib.sha256(f"openbid-audit-v1:{lot_id}".encode()).hexdigest()


def link(previous: str, raw_entry: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(previous) + raw_entry).hexdigest()


def leaf(log_id: str, digest: str, chain_hash: str) -> bytes:
    """What the transparency log (auction/merkle.py) holds of an entry: its log, the
    SHA-256 of its bytes (hex; what a receipt names) and its chain hash, which commits to it
    and to every entry of the log before it. No seq: a leaf says nothing of a position in
    the audit sequence, which counts entries the rules keep secret (R5)."""
    return f"openbid-leaf-v1\n{log_id}\n{digest}\n{chain_hash}\n".encode()


def replay_steps(
    state: S, entries: Sequence[Entry], decide: Callable[[S, Entry], tuple[S, list[Entry]]]
) -> S:
    """Replay `entries` after the first: `decide` rebuilds the command that wrote each
    group (from its first entry) and decides it at its logged time; the rules must write
    exactly the logged group. Raises Discrepancy at the first group that differs."""
    i = 1
    while i < len(entries):
        entry = entries[i]
        try:
            state_after, written = decide(state, entry)
        except BadMessage as error:  # a logged command the rules would never have taken
            raise Discrepancy(entry.get("seq", i + 1), f"logged {entry}: {error}") from None
        if not written or written != list(entries[i : i + len(written)]):
            want = written[0] if written else "nothing"
            raise Discrepancy(entry.get("seq", i + 1), f"logged {entry}, the rules write {want}")
        state, i = state_after, i + len(written)
    return state
