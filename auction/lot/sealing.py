"""Sealed bids of a 一次报价 lot: sealed when they arrive, opened only at the close.

Every price is encrypted (AES-256-GCM, the lot and the bidder bound in as associated data,
a fixed 8-byte plaintext so the length says nothing) under the lot's sealing key before it
reaches the store. The key is derived from the server's sealing secret, which is kept
outside the store (a file in the data dir, or the environment): the log, the store, staff
views and exports hold only ciphertexts until the close, so neither the host nor the
supervisor nor whoever reads the store can see a sealed price (security review H5).

The lot's `created` entry carries `sealing_commitment = SHA-256(FORMAT | key)`; at the
close the key is logged in the `revealed` entry, the prices are opened with it, and anyone
holding the log checks the key against the commitment and every price against its
ciphertext (`openbid verify` does).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["FORMAT", "lot_key", "open_all", "open_price", "seal_price", "sealing_commitment"]

FORMAT = b"openbid-sealed-bid/1"
_NONCE = 12


def lot_key(secret: bytes, lot_id: str) -> bytes:
    """The lot's 256-bit sealing key, from the server's secret."""
    return hmac.new(secret, FORMAT + b"|" + lot_id.encode(), hashlib.sha256).digest()


def sealing_commitment(key: bytes) -> str:
    return hashlib.sha256(FORMAT + b"|" + key).hexdigest()


def seal_price(key: bytes, lot_id: str, bidder_id: str, price: int) -> str:
    """The price sealed for the store and the log: base64 of nonce and ciphertext."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(key).encrypt(nonce, price.to_bytes(8, "big"), _aad(lot_id, bidder_id))
    return base64.b64encode(nonce + sealed).decode()


def open_price(key: bytes, lot_id: str, bidder_id: str, sealed: object) -> int | None:
    """The price a sealed bid holds; None when it does not open (not this lot's or this
    bidder's, or altered): such a bid is void at the close."""
    try:
        raw = base64.b64decode(str(sealed), validate=True)
        plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(lot_id, bidder_id))
    except (binascii.Error, ValueError, InvalidTag):
        return None
    return int.from_bytes(plain, "big") if len(plain) == 8 else None


def open_all(key: bytes, lot_id: str, boxes: Mapping[str, Any]) -> dict[str, int]:
    """Every sealed bid that opens, by bidder id (`boxes`: bidder id -> sealed)."""
    opened = {bidder: open_price(key, lot_id, bidder, box) for bidder, box in boxes.items()}
    return {bidder: price for bidder, price in opened.items() if price is not None}


def _aad(lot_id: str, bidder_id: str) -> bytes:
    return FORMAT + b"|" + lot_id.encode() + b"|" + bidder_id.encode()
