"""The lot's vault (auction/lot/vault.py): the reserve and the clear names open only under
the lot's key, for the lot and the value they were sealed for, and say nothing in clear."""

from __future__ import annotations

import base64

import pytest

from auction.lot import vault

SECRET = bytes(range(32))
KEY = vault.vault_key(SECRET, "lot1")


def test_a_lot_has_its_own_key_from_the_secret() -> None:
    assert len(KEY) == 32 and vault.vault_key(SECRET, "lot1") == KEY
    assert vault.vault_key(SECRET, "lot2") != KEY
    assert vault.vault_key(bytes(32), "lot1") != KEY


def test_the_reserve_and_its_salt_open_as_sealed() -> None:
    sealed = vault.seal_reserve(KEY, "lot1", 37_654_321, "5a1t")
    assert vault.open_reserve(KEY, "lot1", sealed) == (37_654_321, "5a1t")
    assert "37654321" not in sealed and b"37654321" not in base64.b64decode(sealed)
    assert sealed != vault.seal_reserve(KEY, "lot1", 37_654_321, "5a1t")  # a fresh nonce


def test_a_name_opens_only_as_the_value_it_was_sealed_for() -> None:
    sealed = vault.seal_text(KEY, "lot1", "h:aa", "甲建设集团")
    assert vault.open_text(KEY, "lot1", "h:aa", sealed) == "甲建设集团"
    assert vault.open_text(KEY, "lot1", "h:bb", sealed) is None  # moved to another plate's
    assert vault.open_reserve(KEY, "lot1", sealed) is None  # nor is it a reserve


@pytest.mark.parametrize(
    ("key", "lot", "sealed"),
    [
        (vault.vault_key(SECRET, "lot2"), "lot1", None),  # another lot's key
        (KEY, "lot2", None),  # the box moved to another lot
        (KEY, "lot1", "not base64!"),
        (KEY, "lot1", ""),
        (KEY, "lot1", 42),
        (KEY, "lot1", base64.b64encode(b"short").decode()),
    ],
)
def test_what_does_not_open_is_none(key: bytes, lot: str, sealed: object) -> None:
    box = vault.seal_reserve(KEY, "lot1", 100, "s") if sealed is None else sealed
    assert vault.open_reserve(key, lot, box) is None


def test_an_altered_box_does_not_open() -> None:
    raw = bytearray(base64.b64decode(vault.seal_reserve(KEY, "lot1", 100, "s")))
    raw[-1] ^= 1
    assert vault.open_reserve(KEY, "lot1", base64.b64encode(bytes(raw)).decode()) is None


def test_the_store_hands_back_bytes() -> None:
    sealed = vault.seal_text(KEY, "lot1", "h:aa", "乙").encode()
    assert vault.open_text(KEY, "lot1", "h:aa", sealed) == "乙"
