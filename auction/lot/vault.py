"""What a lot keeps from its operators until the close (review R9, RULES §5.2 and §5.5).

The reserve (底价) with its salt, and the name or payment reference behind each blinded
value of the log (auction/lot/blinding.py), are stored sealed: AES-256-GCM under the lot's
vault key, which the server derives from its secret (a file in the data dir, or the
environment; never in the store). Whoever reads the store, its append-only file, a backup
or a replica sees ciphertexts; the reserve's salt with it, so not even a guess of the
reserve can be tested against its public commitment (auction/lot/commit.py).

Each value is bound to its lot and to what it stands for (associated data): a name sealed
for one blinded value does not open as another's, so nobody who can write to the store can
swap two bidders' names unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["FORMAT", "open_reserve", "open_text", "seal_reserve", "seal_text", "vault_key"]

FORMAT = b"openbid-vault/1"
RESERVE = "reserve"  # the label the reserve is sealed under
_NONCE = 12


def vault_key(secret: bytes, lot_id: str) -> bytes:
    """The lot's 256-bit vault key, from the server's secret."""
    return hmac.new(secret, FORMAT + b"|" + lot_id.encode(), hashlib.sha256).digest()


def seal_reserve(key: bytes, lot_id: str, reserve: int, salt: str) -> str:
    """The reserve and its salt, sealed for the store."""
    return _seal(key, lot_id, RESERVE, json.dumps([reserve, salt]).encode())


def open_reserve(key: bytes, lot_id: str, sealed: object) -> tuple[int, str] | None:
    """The reserve and its salt; None when the box does not open under this key."""
    plain = _open(key, lot_id, RESERVE, sealed)
    if plain is None:
        return None
    reserve, salt = json.loads(plain)
    return int(reserve), str(salt)


def seal_text(key: bytes, lot_id: str, blinded: str, value: str) -> str:
    """The clear name or ref behind `blinded`, sealed for the store."""
    return _seal(key, lot_id, blinded, value.encode())


def open_text(key: bytes, lot_id: str, blinded: str, sealed: object) -> str | None:
    """The clear value sealed for `blinded`; None when it does not open as that one's."""
    plain = _open(key, lot_id, blinded, sealed)
    return None if plain is None else plain.decode()


def _seal(key: bytes, lot_id: str, label: str, plain: bytes) -> str:
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(key).encrypt(nonce, plain, _aad(lot_id, label))
    return base64.b64encode(nonce + sealed).decode()


def _open(key: bytes, lot_id: str, label: str, sealed: object) -> bytes | None:
    try:
        raw = base64.b64decode(sealed if isinstance(sealed, (str, bytes)) else "", validate=True)
        return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(lot_id, label))
    except (binascii.Error, ValueError, InvalidTag):
        return None


def _aad(lot_id: str, label: str) -> bytes:
    return FORMAT + b"|" + lot_id.encode() + b"|" + label.encode()
