"""A token bucket: how fast one client may send (frames on a connection, bids per bidder)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Bucket"]


@dataclass(slots=True)
class Bucket:
    """Holds up to `burst` tokens, refilled at `rate` per second; a command takes one."""

    rate: float
    burst: int
    tokens: float = field(init=False)
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
