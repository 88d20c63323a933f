"""Receipts: the server's signed word of what it decided for a bidder.

Every accepted bid, continue, accept, envelope or sign-in is acknowledged with a receipt,
a signed note (auction/checkpoint.py) by the transparency log's key:

    openbid-receipt/1
    log "3fa2c0d1e9"
    entry "<hex SHA-256 of the entry's bytes as logged>"
    time 1764633600000
    kind "bid"
    bid_id "b-17"
    price 34880000

It promises, as a Certificate Transparency SCT does, that the entry is in the log, and so
in the transparency log's tree by its next checkpoint. `openbid verify --receipt` checks it
against an export or against the server's later checkpoint: a bidder can then prove what
the platform acknowledged, whatever happens to the server. A receipt names no position in
the audit sequence (which counts what the rules keep secret, R5), only the entry's digest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FORMAT", "Receipt"]

FORMAT = "openbid-receipt/1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    log: str
    entry: str  # the hex SHA-256 of the entry's bytes
    time: int
    kind: str
    bid_id: str | None = None
    price: int | None = None  # a sealed bid's: the price its bidder sealed

    @classmethod
    def of(
        cls, log_id: str, raw: bytes, entry: dict[str, Any], price: int | None = None
    ) -> Receipt:
        """The receipt of a logged entry (`raw`, and `entry` decoded from it); `price`
        for a sealed bid, whose entry holds only the sealed box."""
        logged = entry.get("price")
        return cls(
            log=log_id, entry=hashlib.sha256(raw).hexdigest(), time=int(entry["ts"]),
            kind=str(entry["kind"]), bid_id=entry.get("bid_id"),
            price=logged if isinstance(logged, int) else price,
        )  # fmt: skip

    def body(self) -> str:
        """The note's text: one `name value` line per field, each value in JSON."""
        fields = (f"{k} {json.dumps(v, ensure_ascii=False)}" for k, v in asdict(self).items())
        return "\n".join([FORMAT, *(line for line in fields if not line.endswith(" null"))]) + "\n"

    @classmethod
    def parse(cls, body: str) -> Receipt:
        """ValueError when `body` is not a receipt."""
        lines = body.split("\n")
        if lines[0] != FORMAT or lines[-1] != "":
            raise ValueError(f"not an {FORMAT}")
        found: dict[str, Any] = {}
        for line in lines[1:-1]:
            name, _, value = line.partition(" ")
            if name not in cls.__dataclass_fields__ or name in found:
                raise ValueError(f"a receipt has no field {name!r}, or has it twice")
            found[name] = json.loads(value)
        try:
            receipt = cls(**found)
        except TypeError:
            raise ValueError("a receipt misses a field") from None
        if len(receipt.entry) != 64 or not isinstance(receipt.time, int):
            raise ValueError("a receipt's entry is a SHA-256, its time an integer")
        return receipt

    def matches(self, entry: dict[str, Any]) -> bool:
        """Does the decoded entry (whose bytes hash to `self.entry`) say what this does?"""
        logged = entry.get("price")
        said = (entry.get("ts"), entry.get("kind"), entry.get("bid_id"))
        same_price = not isinstance(logged, int) or logged == self.price
        return said == (self.time, self.kind, self.bid_id) and same_price
