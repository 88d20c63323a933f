"""Sealed envelopes do not tell a price's number of digits by their length (review M9)."""

from __future__ import annotations

import pytest

from auction.opening.envelope import PAD_FLOOR, open_envelope, padded_length, seal


def test_prices_of_any_length_seal_to_the_same_size() -> None:
    sizes = {
        len(
            seal(
                "op1", "t1", {"price": price, "duration_days": 90, "quality": "合格"}, None
            ).ciphertext
        )
        for price in (1, 99_999_999, 100_000_000, 2**53 - 1)
    }
    assert sizes == {PAD_FLOOR + 16}  # the GCM tag


def test_padded_envelopes_still_open_to_the_bid() -> None:
    sealed = seal("op1", "t1", {"price": 4_198_000_000}, ("a.pdf", b"x" * 10_000))
    opened = open_envelope(
        "op1", "t1", sealed.commitment, sealed.nonce, sealed.ciphertext, sealed.key
    )
    assert opened["price"] == 4_198_000_000 and opened["attachment"]["size"] == 10_000


@pytest.mark.parametrize("length", [1, 4096, 4097, 5000, 65_537, 1_000_000, 8_000_000])
def test_padme_never_shrinks_and_adds_at_most_an_eighth(length: int) -> None:
    padded = padded_length(length)
    assert padded >= max(length, PAD_FLOOR)
    assert padded - length <= max(PAD_FLOOR, length // 8)


def test_padme_keeps_few_distinct_lengths() -> None:
    """Between 1 and 2 MiB, Padmé leaves 33 lengths (32 steps and 2 MiB) instead of a million."""
    assert len({padded_length(n) for n in range(1 << 20, 1 << 21, 97)}) == 33
