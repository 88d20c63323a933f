"""Sealed bids of a 一次报价 lot (auction/lot/sealing.py): a sealed price opens only under its
lot's key, for its own lot and bidder, unaltered; anyone holding the log and the revealed key
can check the key against the commitment and open every price (AES-256-GCM, the 12-byte
nonce first, the lot and the bidder as associated data, an 8-byte big-endian price)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from auction.lot.sealing import (
    FORMAT,
    lot_key,
    open_all,
    open_price,
    seal_price,
    sealing_commitment,
)

SECRET = bytes(range(32))
KEY = lot_key(SECRET, "L7")
PRICE = 34_880_000


def _aad(lot_id: str, bidder_id: str) -> bytes:
    return b"openbid-sealed-bid/1|" + lot_id.encode() + b"|" + bidder_id.encode()


def _box(plain: bytes, lot_id: str = "L7", bidder_id: str = "b1", key: bytes = KEY) -> str:
    """A sealed box written as the format says, independently of seal_price."""
    nonce = bytes(12)
    return base64.b64encode(
        nonce + AESGCM(key).encrypt(nonce, plain, _aad(lot_id, bidder_id))
    ).decode()


def test_the_lot_key_is_derived_from_the_secret_and_the_lot() -> None:
    expected = hmac.new(SECRET, b"openbid-sealed-bid/1|L7", hashlib.sha256).digest()
    assert lot_key(SECRET, "L7") == expected
    assert len(expected) == 32  # AES-256
    assert lot_key(SECRET, "L8") != KEY
    assert lot_key(bytes(32), "L7") != KEY


def test_the_commitment_is_the_hash_of_the_format_and_the_key() -> None:
    assert FORMAT == b"openbid-sealed-bid/1"
    assert sealing_commitment(KEY) == hashlib.sha256(b"openbid-sealed-bid/1|" + KEY).hexdigest()
    assert sealing_commitment(lot_key(SECRET, "L8")) != sealing_commitment(KEY)


@pytest.mark.parametrize("price", [1, PRICE, 2**53 - 1])
def test_a_sealed_price_opens_under_its_key(price: int) -> None:
    box = seal_price(KEY, "L7", "b1", price)
    assert open_price(KEY, "L7", "b1", box) == price


def test_a_sealed_price_follows_the_published_format() -> None:
    raw = base64.b64decode(seal_price(KEY, "L7", "b1", PRICE), validate=True)
    assert len(raw) == 12 + 8 + 16  # nonce, price, tag: the length says nothing
    plain = AESGCM(KEY).decrypt(raw[:12], raw[12:], _aad("L7", "b1"))
    assert plain == PRICE.to_bytes(8, "big")


def test_every_seal_takes_a_fresh_nonce() -> None:
    first, second = (seal_price(KEY, "L7", "b1", PRICE) for _ in range(2))
    assert first != second
    assert base64.b64decode(first)[:12] != base64.b64decode(second)[:12]


def test_a_box_written_to_the_format_opens() -> None:
    assert open_price(KEY, "L7", "b1", _box(PRICE.to_bytes(8, "big"))) == PRICE


def _flip_last(box: str) -> str:
    raw = bytearray(base64.b64decode(box))
    raw[-1] ^= 1
    return base64.b64encode(bytes(raw)).decode()


VOID: list[tuple[str, str, str, bytes, object]] = [
    ("another lot's box", "L8", "b1", KEY, seal_price(KEY, "L7", "b1", PRICE)),
    ("another bidder's box", "L7", "b2", KEY, seal_price(KEY, "L7", "b1", PRICE)),
    ("another key", "L7", "b1", lot_key(SECRET, "L8"), seal_price(KEY, "L7", "b1", PRICE)),
    ("an altered box", "L7", "b1", KEY, _flip_last(seal_price(KEY, "L7", "b1", PRICE))),
    ("not base64", "L7", "b1", KEY, "not base64!"),
    ("junk inside base64", "L7", "b1", KEY, "!" + seal_price(KEY, "L7", "b1", PRICE)),
    ("too short for a nonce", "L7", "b1", KEY, base64.b64encode(b"short").decode()),
    ("empty", "L7", "b1", KEY, ""),
    ("not text", "L7", "b1", KEY, 12345),
    ("a price of 7 bytes", "L7", "b1", KEY, _box(PRICE.to_bytes(7, "big"))),
    ("a price of 9 bytes", "L7", "b1", KEY, _box(PRICE.to_bytes(9, "big"))),
]


@pytest.mark.parametrize(
    ("lot_id", "bidder_id", "key", "sealed"), [v[1:] for v in VOID], ids=[v[0] for v in VOID]
)
def test_a_box_that_does_not_open_is_void(
    lot_id: str, bidder_id: str, key: bytes, sealed: object
) -> None:
    assert open_price(key, lot_id, bidder_id, sealed) is None


def test_open_all_opens_what_opens() -> None:
    boxes = {
        "b1": seal_price(KEY, "L7", "b1", PRICE),
        "b2": seal_price(KEY, "L7", "b2", PRICE + 500_000),
        "b3": seal_price(KEY, "L7", "b1", 1),  # b1's box handed in as b3's: void
        "b4": "garbage",
    }
    assert open_all(KEY, "L7", boxes) == {"b1": PRICE, "b2": PRICE + 500_000}
    assert open_all(lot_key(SECRET, "L8"), "L7", boxes) == {}
    assert open_all(KEY, "L7", {}) == {}
