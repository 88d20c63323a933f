"""Commitments that let anyone check, after the close, what was fixed before the bidding.

The reserve is published as `sha256("<reserve>:<salt>")` when the lot is created and the salt
is revealed at the close. The lottery seed is published as `sha256(seed)` and revealed at the
close; the draw among the acceptors (in the order they joined) is `lottery_index`, which any
auditor can recompute.
"""

from __future__ import annotations

import hashlib
import secrets as _random
from typing import Any

from auction.config import LotConfig
from auction.state import Secrets

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


def lottery_index(seed: str, pool_size: int) -> int:
    """Which of `pool_size` acceptors wins: the seed's first 48 bits modulo the pool size.
    48 bits stay exact in a Lua double, so the bid book's script draws the same."""
    return int(seed[:12], 16) % pool_size


def created_fields(
    config: LotConfig, secrets: Secrets, sealing_commitment: str | None = None
) -> dict[str, Any]:
    """The public body of a lot's first log entry; a sealed lot's names the commitment to
    the key that will open its bids (auction/sealing.py)."""
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
