"""Signals of collusion (防范围串标) for the supervisor, computed from what the server saw.

Theory of operation. The server keeps a `Trace` of every action a bidder takes in a lot or
an opening (registering, paying its deposit, bidding, sealing an envelope, signing in): the
client's address, the device the page names, and for deposits the payer's account. Nothing
here decides anything: the law's presumptions of collusion (招标投标法实施条例 第40条, 财政部
令第87号 第37条; RULES.md §5.6) are for people to judge, so each `Flag` carries its evidence
and goes to supervisors only, never to the public or another bidder, and never disqualifies.

The flags:
- `shared_address`, `shared_device`, `shared_payer`: one value used by two or more bidders
  (deposits from one account is itself a statutory presumption);
- `envelopes_one_machine`: two or more bidders' envelopes sealed from one address or device;
- `identical_prices`, `price_progression`: sealed prices (a sealed round's or an opening's
  read-out) equal, or three or more neighbouring ones an equal step apart ("有规律的差异");
- `never_outbid`: in an open round, two bidders who each bid at least `ACTIVE` times yet
  never once bid directly over the other (陪标: present, but not competing with each other).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ACTIVE", "Flag", "Seen", "Trace", "device_of", "flags", "never_outbid", "price_flags",
    "shared",
]  # fmt: skip

ACTIVE = 2  # bids each of two bidders makes before their never outbidding each other counts
SHARED = {"address": "shared_address", "device": "shared_device", "payer": "shared_payer"}
DEVICE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what a page may name its browser by


def device_of(value: object) -> str | None:
    """The device a page names (`X-OpenBid-Device`, a hello's `device`) when it is 1 to 64
    of [A-Za-z0-9_-]; None for anything else, which is ignored, never refused: a signal is
    no reason to turn a bidder away."""
    return value if isinstance(value, str) and DEVICE.fullmatch(value) else None


@dataclass(frozen=True, slots=True)
class Seen:
    """Where a command came from: the client's address (the direct peer's) and the device
    its page names. Kept for the supervisor's signals only, never shown to anyone else."""

    address: str | None = None
    device: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    """One action of one bidder (its plate or bidder id), as the server saw it."""

    bidder: str
    action: str  # register, deposit, bid, envelope, sign_in, decrypt, confirm, object
    ts: int  # ms, the store's clock
    address: str | None = None
    device: str | None = None
    payer: str | None = None  # the account a deposit came from

    def as_evidence(self) -> dict[str, Any]:
        return {"bidder": self.bidder, "action": self.action, "ts": self.ts}


@dataclass(frozen=True, slots=True, kw_only=True)
class Flag:
    kind: str
    bidders: tuple[str, ...]  # sorted
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "bidders": list(self.bidders), "evidence": self.evidence}


def shared(traces: Iterable[Trace], what: str, kind: str | None = None) -> list[Flag]:
    """A flag for each value of `what` (address, device or payer) that two or more bidders
    used, with every action that used it."""
    used: dict[str, list[Trace]] = defaultdict(list)
    for trace in traces:
        if (value := getattr(trace, what)) is not None:
            used[value].append(trace)
    found = []
    for value, uses in sorted(used.items()):
        bidders = tuple(sorted({t.bidder for t in uses}))
        if len(bidders) > 1:
            evidence = {what: value, "actions": [t.as_evidence() for t in uses]}
            found.append(Flag(kind=kind or SHARED[what], bidders=bidders, evidence=evidence))
    return found


def price_flags(prices: Mapping[str, int]) -> list[Flag]:
    """Flags on sealed prices by bidder: equal ones, and runs of three or more neighbouring
    prices one step apart."""
    found = []
    by_price: dict[int, list[str]] = defaultdict(list)
    for bidder, price in prices.items():
        by_price[price].append(bidder)
    for price, alike in sorted(by_price.items()):
        if len(alike) > 1:
            found.append(Flag(kind="identical_prices", bidders=tuple(sorted(alike)),
                              evidence={"price": price}))  # fmt: skip
    for run in _progressions(sorted(by_price)):
        bidders = tuple(sorted(b for p in run for b in by_price[p]))
        evidence = {"prices": list(run), "step": run[1] - run[0]}
        found.append(Flag(kind="price_progression", bidders=bidders, evidence=evidence))
    return found


def _progressions(prices: Sequence[int]) -> list[tuple[int, ...]]:
    """The longest runs of three or more neighbours among the distinct `prices` (sorted)
    with one common difference. Neighbours only: with many bidders, three prices spaced
    alike somewhere among them is chance; a run with nobody between is the pattern."""
    runs: list[tuple[int, ...]] = []
    run = list(prices[:1])
    for price in prices[1:]:
        if len(run) > 1 and price - run[-1] != run[1] - run[0]:
            runs += [tuple(run)] if len(run) >= 3 else []
            run = run[-1:]
        run.append(price)
    return runs + ([tuple(run)] if len(run) >= 3 else [])


def never_outbid(bids: Sequence[str]) -> list[Flag]:
    """Pairs of bidders, each with `ACTIVE` bids or more in this open round (`bids`: the
    bidder of each accepted bid, in order), neither of whom ever bid right over the other."""
    counts: dict[str, int] = defaultdict(int)
    over: set[frozenset[str]] = set()
    for before, after in itertools.pairwise(bids):
        if before != after:
            over.add(frozenset((before, after)))
    for bidder in bids:
        counts[bidder] += 1
    active = sorted(b for b, n in counts.items() if n >= ACTIVE)
    return [
        Flag(kind="never_outbid", bidders=(a, b), evidence={"bids": {a: counts[a], b: counts[b]}})
        for a, b in itertools.combinations(active, 2)
        if frozenset((a, b)) not in over
    ]


def flags(
    traces: Sequence[Trace], *, sealed: Mapping[str, int] | None = None,
    bids: Sequence[str] = (),
) -> list[Flag]:  # fmt: skip
    """Every flag on one lot or opening: its traces, its sealed prices by bidder (a sealed
    round or an opening's read-out), and the bidders of its open bids in order."""
    found = [f for what in SHARED for f in shared(traces, what)]
    envelopes = [t for t in traces if t.action == "envelope"]
    for what in ("address", "device"):
        found += shared(envelopes, what, "envelopes_one_machine")
    return found + price_flags(sealed or {}) + never_outbid(bids)
