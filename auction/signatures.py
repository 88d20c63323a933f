"""Bidders' signatures (电子签章) on what they send: a bid, a continue, an accept.

A bidder registers a public key (PEM, SubjectPublicKeyInfo) and signs each command with the
private key only it holds: ECDSA P-256 with SHA-256, which a browser makes and keeps with
WebCrypto, or SM2 with SM3 (GB/T 32918, the signer id its default "1234567812345678"), what
Chinese CAs issue on their keys, checked by Tongsuo (the OpenSSL fork that carries the SM
algorithms), compiled. The signed message names the lot and the bidder's plate, so a
signature cannot be replayed onto another lot or by another bidder:

    openbid-sig/1
    venue 3fa2c0d1e9
    plate 4821
    command bid
    bid_id "b-17"
    price 34880000

A signature is base64 of the DER ECDSA-Sig-Value, or of r‖s (64 bytes, as WebCrypto gives).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from tongsuopy.crypto import hashes as sm_hashes
from tongsuopy.crypto import serialization as sm_serialization
from tongsuopy.crypto.asymciphers import ec as sm_ec
from tongsuopy.crypto.exceptions import InternalError as SmInternalError
from tongsuopy.crypto.exceptions import InvalidSignature as SmInvalidSignature

from auction.errors import BadMessage
from auction.log import Discrepancy, Entry

__all__ = [
    "FORMAT", "MODES", "OPENING_SIGNED", "PublicKey", "check_lot_log", "check_opening_log",
    "message",
]  # fmt: skip

FORMAT = "openbid-sig/1"
MODES = ("off", "optional", "required")  # a lot's `signatures`
MAX_PEM = 4096
MAX_SIG = 200  # base64 characters: a DER signature is at most 72 bytes


def message(venue_id: str, plate: str, command: str, **fields: Any) -> bytes:
    """What a bidder signs for `command` on a lot or an opening (`fields` that are None are
    left out)."""
    lines = [FORMAT, f"venue {venue_id}", f"plate {plate}", f"command {command}"]
    lines += [
        f"{k} {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items() if v is not None
    ]
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True, slots=True)
class PublicKey:
    algorithm: str  # "p256" or "sm2"
    key: Any

    @classmethod
    def load(cls, pem: object) -> PublicKey:
        """A bidder's registered key; BadMessage (field `public_key`) when it is not a P-256
        or an SM2 public key in PEM."""
        if not isinstance(pem, str) or len(pem) > MAX_PEM:
            raise BadMessage("public_key", "须为 PEM 格式的公钥", "must be a public key in PEM")
        try:
            found = load_pem_public_key(pem.encode())
        except UnsupportedAlgorithm:  # not a curve OpenSSL knows: SM2, perhaps
            return cls._sm2(pem)
        except ValueError:
            raise BadMessage("public_key", "公钥无法读取", "cannot be read as PEM") from None
        if not isinstance(found, ec.EllipticCurvePublicKey) or found.curve.name != "secp256r1":
            raise BadMessage("public_key", "须为 P-256 或 SM2 公钥", "must be a P-256 or SM2 key")
        return cls("p256", found)

    @classmethod
    def _sm2(cls, pem: str) -> PublicKey:
        try:
            found = sm_serialization.load_pem_public_key(pem.encode())
        except Exception:
            raise BadMessage("public_key", "公钥无法读取", "cannot be read as PEM") from None
        if not isinstance(getattr(found, "curve", None), sm_ec.SM2):
            raise BadMessage("public_key", "须为 P-256 或 SM2 公钥", "must be a P-256 or SM2 key")
        return cls("sm2", found)

    def verify(self, signed: bytes, signature: object) -> bool:
        der = _der(signature)
        if der is None:
            return False
        try:
            if self.algorithm == "sm2":
                self.key.verify(der, signed, sm_ec.ECDSA(sm_hashes.SM3()))
            else:
                self.key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, SmInvalidSignature, ValueError):
            return False
        except SmInternalError:  # bytes that are no DER signature at all, to Tongsuo
            return False
        return True


def _der(signature: object) -> bytes | None:
    """The DER form of a base64 signature, raw r‖s or DER already; None if neither."""
    if not isinstance(signature, str) or not 0 < len(signature) <= MAX_SIG:
        return None
    try:
        raw = base64.b64decode(signature, validate=True)
    except binascii.Error:
        return None
    if len(raw) == 64:
        return encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    return raw


def check_lot_log(lot_id: str, entries: Sequence[Entry]) -> int:
    """Every signature a lot's log holds, checked against the key its bidder registered
    (a sealed bid's once the `revealed` entry gives its price); in a lot that required
    them, every bid, continue and accept has one. Returns how many were checked; raises
    Discrepancy at the first that does not hold."""
    mode = entries[0].get("signatures", "off") if entries else "off"
    opened = {row[2]: row[1] for e in entries if e["kind"] == "revealed"
              for row in [*e["rows"], *e["void"]]}  # fmt: skip

    def signed(entry: Entry) -> tuple[str, dict[str, Any]] | None:
        if entry["kind"] not in ("bid", "indicator"):
            return entry["kind"], {}
        sealed = "sealed" in entry
        if sealed and entry["seq"] not in opened:
            return None  # not opened yet: its price is still the secret
        price = opened[entry["seq"]] if sealed else entry.get("price")
        return "bid", {"bid_id": entry["bid_id"], "price": price,
                       "indicator": entry.get("indicator"),
                       "quantity": entry.get("quantity")}  # fmt: skip

    return _check(lot_id, entries, mode, LOT_KINDS, signed)


def check_opening_log(opening_id: str, entries: Sequence[Entry]) -> int:
    """The same for an opening: its envelopes, sign-ins, confirmations and objections."""
    config = entries[0].get("config") or {} if entries else {}
    mode = config.get("signatures") or "off"

    by_kind = {kind: (command, fields) for command, (kind, fields) in OPENING_SIGNED.items()}

    def signed(entry: Entry) -> tuple[str, dict[str, Any]]:
        command, fields = by_kind[entry["kind"]]
        return command, {field: entry.get(field) for field in fields}

    return _check(opening_id, entries, mode, tuple(by_kind), signed)


LOT_KINDS = ("bid", "indicator", "continue", "accept")
OPENING_SIGNED = {  # a bidder's command of an opening: the entry it writes, the fields it signs
    "envelope": ("envelope", ("digest", "commitment")),
    "sign_in": ("signed_in", ()),
    "confirm": ("confirmed", ("record_hash",)),
    "object": ("objection", ("text",)),
}


def _check(
    venue_id: str, entries: Sequence[Entry], mode: str, kinds: Sequence[str],
    signed: Callable[[Entry], tuple[str, dict[str, Any]] | None],
) -> int:  # fmt: skip
    keys = {e["plate"]: e.get("public_key") for e in entries if e["kind"] == "registered"}
    checked = 0
    for entry in entries:
        if entry["kind"] not in kinds:
            continue
        sig = entry.get("sig")
        if sig is None:
            if mode == "required":
                raise Discrepancy(entry["seq"], "an unsigned command where signatures are required")
            continue
        found = signed(entry)
        if found is None:
            continue
        pem = keys.get(entry["plate"])
        data = message(venue_id, entry["plate"], found[0], **found[1])
        if pem is None or not PublicKey.load(pem).verify(data, sig):
            raise Discrepancy(entry["seq"], "a bidder's signature does not hold")
        checked += 1
    return checked
