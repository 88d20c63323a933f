"""Sealed bid envelopes: sealed on the bidder's side, opened only with what the bidder hands
over at the opening. See docs/openings.md for the design and what each party holds.

An envelope is AES-256-GCM under a fresh random 256-bit key chosen by the bidder, with the
opening and the bidder bound in as associated data. With the ciphertext the bidder uploads
a commitment to the key, `SHA-256("openbid-envelope/1" | opening | bidder | key | digest)`
where `digest = SHA-256(nonce | ciphertext)`. Before the deadline the server holds the
ciphertext and the commitment: opening the envelope needs the key, and the commitment (a
hash of 256 random bits) does not give it. At decryption the bidder hands over the key; the
server checks it against the commitment before it decrypts, so a wrong key is the bidder's
failure and provably so. The same functions run in the browser through WebCrypto
(AES-GCM, SHA-256) and in `openbid verify`, which re-opens every envelope from the export.

The plaintext is UTF-8 JSON: `{"price": int, "duration_days": int | null, "quality": str |
null, "attachment": {"name": str, "data": base64} | null}`, padded with spaces (which JSON
ignores) to `padded_length`: GCM keeps the length, and an unpadded 8-digit price sealed one
byte shorter than a 9-digit one (security review M9).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "FORMAT",
    "EnvelopeFailure",
    "Sealed",
    "attachment_of",
    "b64",
    "commitment",
    "decode_key",
    "digest",
    "open_envelope",
    "padded_length",
    "seal",
]

FORMAT = "openbid-envelope/1"
KEY_BYTES, NONCE_BYTES = 32, 12
MAX_TEXT = 500
PAD_FLOOR = 4096  # every envelope without a large attachment seals to this many bytes
MAX_PRICE = 2**53 - 1


class EnvelopeFailure(Exception):
    """The envelope did not open; `reason` is stable: BAD_KEY (not the key committed to),
    CORRUPT (the key is right but the ciphertext does not authenticate), BAD_CONTENT (it
    opened but is not a bid). All three are on the bidder's side."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Sealed:
    """What a bidder's client makes: it uploads nonce, ciphertext and commitment and keeps
    the key (and a backup copy of it) to itself until the opening."""

    key: bytes
    nonce: bytes
    ciphertext: bytes
    commitment: str

    def upload(self) -> dict[str, str]:
        """The body of `POST /api/openings/{id}/envelopes`."""
        return {
            "nonce": b64(self.nonce),
            "ciphertext": b64(self.ciphertext),
            "commitment": self.commitment,
        }


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _aad(opening_id: str, bidder_id: str) -> bytes:
    return f"{FORMAT}|{opening_id}|{bidder_id}".encode()


def digest(nonce: bytes, ciphertext: bytes) -> str:
    return hashlib.sha256(nonce + ciphertext).hexdigest()


def commitment(opening_id: str, bidder_id: str, key: bytes, envelope_digest: str) -> str:
    return hashlib.sha256(
        _aad(opening_id, bidder_id) + b"|" + key + bytes.fromhex(envelope_digest)
    ).hexdigest()


def seal(
    opening_id: str, bidder_id: str, bid: dict[str, Any], attachment: tuple[str, bytes] | None
) -> Sealed:
    """Seal a bid on the bidder's side (what the browser does with WebCrypto)."""
    content = dict(bid)
    if attachment is not None:
        content["attachment"] = {"name": attachment[0], "data": b64(attachment[1])}
    plaintext = json.dumps(content, ensure_ascii=False, sort_keys=True).encode()
    plaintext = plaintext.ljust(padded_length(len(plaintext)))
    key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, _aad(opening_id, bidder_id))
    made = commitment(opening_id, bidder_id, key, digest(nonce, ciphertext))
    return Sealed(key, nonce, ciphertext, made)


def padded_length(length: int) -> int:
    """The length a plaintext of `length` bytes is padded to: PAD_FLOOR, or above it Padmé
    (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication
    with PURBs", 2019): at most 12% more, and only O(log log L) bits of the length left."""
    if length <= PAD_FLOOR:
        return PAD_FLOOR
    exponent = length.bit_length() - 1
    low_bits = exponent - exponent.bit_length()
    mask = (1 << low_bits) - 1
    return (length + mask) & ~mask


def decode_key(text: object) -> bytes:
    """A handed-over key (base64); anything else is a BAD_KEY failure."""
    try:
        key = base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeFailure("BAD_KEY") from None
    if len(key) != KEY_BYTES:
        raise EnvelopeFailure("BAD_KEY")
    return key


def open_envelope(
    opening_id: str, bidder_id: str, committed: str, nonce: bytes, ciphertext: bytes, key: bytes
) -> dict[str, Any]:
    """Check `key` against the commitment, decrypt, and return the bid as logged: price,
    duration_days, quality, and the attachment's name, size and SHA-256 (not its bytes)."""
    if commitment(opening_id, bidder_id, key, digest(nonce, ciphertext)) != committed:
        raise EnvelopeFailure("BAD_KEY")
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _aad(opening_id, bidder_id))
    except InvalidTag:
        raise EnvelopeFailure("CORRUPT") from None
    return _bid(plaintext)


def attachment_of(plaintext_bid: dict[str, Any]) -> bytes | None:
    attached = plaintext_bid.get("attachment")
    return None if attached is None else base64.b64decode(attached["data"])


def _bid(plaintext: bytes) -> dict[str, Any]:
    try:
        content = json.loads(plaintext.decode())
    except (UnicodeDecodeError, ValueError):
        raise EnvelopeFailure("BAD_CONTENT") from None
    if not isinstance(content, dict):
        raise EnvelopeFailure("BAD_CONTENT")
    price, days, quality = (
        content.get("price"),
        content.get("duration_days"),
        content.get("quality"),
    )
    if not _whole(price, 1) or (days is not None and not _whole(days, 0)):
        raise EnvelopeFailure("BAD_CONTENT")
    if quality is not None and (not isinstance(quality, str) or len(quality) > MAX_TEXT):
        raise EnvelopeFailure("BAD_CONTENT")
    return {"price": price, "duration_days": days, "quality": quality, **_attached(content)}


def _whole(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= MAX_PRICE


def _attached(content: dict[str, Any]) -> dict[str, Any]:
    attached = content.get("attachment")
    if attached is None:
        return {"attachment": None}
    try:
        name, data = str(attached["name"])[:MAX_TEXT], base64.b64decode(attached["data"])
    except (KeyError, TypeError, binascii.Error, ValueError):
        raise EnvelopeFailure("BAD_CONTENT") from None
    return {
        "attachment": {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    }
