"""A lot's secrets (auction/lot/commit.py): each lot draws its own reserve salt and lottery
seed, 16 random bytes each in lowercase hex, which its `created` entry commits to."""

from __future__ import annotations

import re

from auction.lot.commit import new_secrets

HEX_16_BYTES = re.compile("[0-9a-f]{32}")


def test_each_lot_draws_its_own_salt_and_seed_of_16_bytes() -> None:
    drawn = [new_secrets() for _ in range(3)]
    for secrets in drawn:
        assert HEX_16_BYTES.fullmatch(secrets.reserve_salt), secrets
        assert HEX_16_BYTES.fullmatch(secrets.lottery_seed), secrets
        assert secrets.reserve_salt != secrets.lottery_seed
    assert len({s.reserve_salt for s in drawn} | {s.lottery_seed for s in drawn}) == 6
