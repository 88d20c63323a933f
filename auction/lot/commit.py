"""Commitments that let anyone check, after the close, what was fixed before the bidding.

The reserve is published as `sha256("<reserve>:<salt>")` when the lot is created and the salt
is revealed at the close. The lottery seed is published as `sha256(seed)` and revealed at the
close. The draw among the acceptors (in the order they joined) is `lottery_index` of the seed,
the supervisor's share and the pool: the share is given only once the acceptance window has
closed and the pool is logged, so nobody who knows the seed (whoever reads the store) can
tell in advance which position wins, and the supervisor, who does not know the seed, cannot
choose one (review R8). Any auditor recomputes it from the `closed` entry.
"""

from __future__ import annotations

import hashlib
import secrets as _random
from collections.abc import Sequence
from typing import Any

from auction.lot.config import LotConfig
from auction.lot.state import Secrets

__all__ = [
    "created_fields",
    "lottery_commitment",
    "lottery_index",
    "new_secrets",
    "reserve_commitment",
]


def new_secrets() -> Secrets:
    return Secrets(reserve_salt=_random.token_hex(16), lottery_seed=_random.token_hex(16))


def reserve_commitment(reserve: int, salt: str) -> str:
    return hashlib.sha256(f"{reserve}:{salt}".encode()).hexdigest()


def lottery_commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def lottery_index(seed: str, share: str, plates: Sequence[str]) -> int:
    """Which of the pool's acceptors (their plates in join order) wins: the first 48 bits
    of `SHA-1(seed | share | plates)` modulo the pool's size. SHA-1 because the store's
    scripts have it (`redis.sha1hex`) and must draw the same; what a draw needs of the hash
    is that its output cannot be told before the share is known, which collisions, SHA-1's
    known weakness, do not touch. 48 bits stay exact in a Lua double."""
    digest = hashlib.sha1(f"{seed}|{share}|{','.join(plates)}".encode()).hexdigest()
    return int(digest[:12], 16) % len(plates)


def created_fields(
    config: LotConfig, secrets: Secrets, sealing_commitment: str | None = None
) -> dict[str, Any]:
    """The public body of a lot's first log entry; a sealed lot's names the commitment to
    the key that will open its bids (auction/lot/sealing.py)."""
    shown = {k: v for k, v in config.public().items() if v is not None}
    reserve = config.reserve
    sealing = {"sealing_commitment": sealing_commitment} if sealing_commitment else {}
    return sealing | {
        "config": shown,
        "has_reserve": reserve is not None,
        "reserve_commitment": (
            reserve_commitment(reserve, secrets.reserve_salt) if reserve is not None else None
        ),
        "lottery_commitment": lottery_commitment(secrets.lottery_seed),
    }
