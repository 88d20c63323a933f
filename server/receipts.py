"""`openbid verify --receipt R --key K [AUDIT_FILE | --url URL]`: does the log hold what the
server acknowledged?

Offline, against an export: the export verifies with the key (chain, rules, checkpoint),
and one of its entries is the one the receipt names, saying what the receipt says. Online,
against the server: its latest checkpoint is signed by the key, and the server proves the
receipt's entry is in that checkpoint's tree. Either way a receipt for an entry the log
does not hold (dropped, rewritten, or never written) fails, and the bidder holds the
server's signature on what it promised.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from auction.checkpoint import BadNote, Verifier
from auction.log import Discrepancy, leaf
from auction.merkle import leaf_hash, verify_inclusion
from auction.receipt import Receipt
from server.verify import verify_document

__all__ = ["fetch", "read_receipt", "receipt_in_export", "receipt_online"]

TIMEOUT_S = 10.0


def fetch(url: str) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
        body: bytes = answer.read()
        return body


def read_receipt(note: str, key: Verifier) -> Receipt:
    """The receipt in `note`, if `key` signed it; Discrepancy otherwise."""
    try:
        return Receipt.parse(key.open(note))
    except (BadNote, ValueError) as error:
        raise Discrepancy(0, f"the receipt does not hold: {error}") from None


def receipt_in_export(receipt: Receipt, document: Any, key: Verifier) -> str:
    summary = verify_document(document, key)
    if document.get("lot_id") != receipt.log:
        raise Discrepancy(0, f"the receipt is of {receipt.log}, the export of another log")
    for row in document.get("entries") or []:
        raw = base64.b64decode(row["raw"])
        if hashlib.sha256(raw).hexdigest() == receipt.entry:
            if not receipt.matches(row["entry"]):
                raise Discrepancy(row["seq"], "the logged entry says otherwise than the receipt")
            said = f"the {receipt.kind} acknowledged at {receipt.time} is entry {row['seq']}"
            return f"ok: {said}; {summary}"
    raise Discrepancy(0, "the log does not hold the acknowledged entry: dropped or rewritten")


def receipt_online(receipt: Receipt, url: str, key: Verifier) -> str:
    url = url.rstrip("/")
    try:
        checkpoint = key.checkpoint(fetch(f"{url}/api/log/checkpoint").decode())
    except BadNote as error:
        raise Discrepancy(0, f"the server's checkpoint does not hold: {error}") from None
    query = urllib.parse.urlencode(
        {"log": receipt.log, "entry": receipt.entry, "size": checkpoint.size}
    )
    try:
        found: Any = json.loads(fetch(f"{url}/api/log/inclusion?{query}"))
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise Discrepancy(
                0, "the server's log does not hold the entry it acknowledged"
            ) from None
        raise Discrepancy(0, f"the server will not prove the entry ({error.code}); try after "
                             "its next checkpoint") from None  # fmt: skip
    hashed = leaf_hash(leaf(receipt.log, receipt.entry, str(found.get("chain_hash"))))
    proof = [base64.b64decode(h) for h in found.get("proof", [])]
    if not verify_inclusion(
        hashed, found.get("index", -1), checkpoint.size, proof, checkpoint.root
    ):
        raise Discrepancy(0, "the server's proof does not put the entry in its checkpoint")
    return (f"ok: the {receipt.kind} acknowledged at {receipt.time} is leaf {found['index']} of "
            f"{checkpoint.origin}'s tree of {checkpoint.size}")  # fmt: skip
