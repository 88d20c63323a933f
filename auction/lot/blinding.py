"""Names and payment references as a lot's log keeps them: blinded.

The log is published after the close (`/audit/public`) and must then show every decision
and no bidder's name or bank reference. So the log never holds them: a registration logs
`blind(key, "name", name)`, a deposit `blind(key, "ref", ref)`, keyed hashes (HMAC-SHA-256
cut to 192 bits) under the lot's blinding key, which the server derives from its secret
and never logs. The same value blinds the same way (a bank's retry of a ref is still the
same ref to the rules), nobody without the key can invert one or test a guess, and the
rules decide exactly as on the clear values. The staff's export adds the key and the clear
values, and `openbid verify` checks that each blinds to what the log holds.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["FIELDS", "blind", "blinding_key", "unblinds"]

FORMAT = b"openbid-blind/1"
# credit_code: a party's (auction/parties/check.py); payer: the account a deposit came from;
# guarantee: a 电子保函's number (auction/money/)
FIELDS = ("name", "ref", "credit_code", "payer", "guarantee")
PREFIX = "h:"


def blinding_key(secret: bytes, lot_id: str) -> bytes:
    return hmac.new(secret, FORMAT + b"|" + lot_id.encode(), hashlib.sha256).digest()


def blind(key: bytes, field: str, value: str) -> str:
    digest = hmac.new(key, field.encode() + b"\0" + value.encode(), hashlib.sha256)
    return PREFIX + digest.hexdigest()[:48]


def unblinds(key: bytes, blinded: str, value: str) -> bool:
    """Is `value` what `blinded` hides (as any of FIELDS)?"""
    return any(hmac.compare_digest(blind(key, f, value), blinded) for f in FIELDS)
