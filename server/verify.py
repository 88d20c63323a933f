"""`openbid verify FILE [--key VKEY]`: check an exported audit log on its own, with no server.

Three checks, each stopping at the first fault: every entry's readable form is its raw
bytes decoded; the hash chain links every raw entry from the lot's genesis to the head;
the reference rules, replaying every logged command at its logged time, write exactly
the logged entries, outcome included. Given the server's verifier key, a fourth: the
export's checkpoint is signed by that key and its tree holds the log's last entry with
this chain head, so a history recomputed end to end, or cut short, fails. Given a
time-stamping authority's certificate too, a fifth: the log is anchored in time
(server/verify_anchor.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from asn1crypto import x509

from auction.checkpoint import BadNote, Verifier
from auction.log import Discrepancy, genesis, leaf, link
from auction.lot.blinding import unblinds
from auction.lot.replay import replay
from auction.merkle import leaf_hash, verify_inclusion
from auction.opening.replay import replay_opening
from auction.signatures import check_lot_log, check_opening_log
from server.services.exports import AUDIT_FORMAT
from server.store.scripts import unpack
from server.verify_anchor import verify_anchor

__all__ = ["verify_document", "verify_file"]


def verify_file(
    path: Path,
    key: Verifier | None = None,
    tsa: list[x509.Certificate] | None = None,
    anchor: Any = None,
) -> str:
    """Return a one-line summary when the file holds; raise Discrepancy otherwise. With
    `tsa` (and `key`), the log must be anchored by that TSA: by `anchor` (the answer of
    GET /api/log/anchor) if given, else by the export's own."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise Discrepancy(0, f"cannot read {path}: {error}") from None
    return verify_document(document, key, tsa, anchor)


def verify_document(
    document: Any,
    key: Verifier | None = None,
    tsa: list[x509.Certificate] | None = None,
    anchor: Any = None,
) -> str:
    if not isinstance(document, dict) or document.get("format") != AUDIT_FORMAT:
        raise Discrepancy(0, f"not an {AUDIT_FORMAT} document")
    lot_id, rows = document.get("lot_id", ""), document.get("entries") or []
    entries, previous, raw = [], genesis(str(lot_id)), b""
    for number, row in enumerate(rows, start=1):
        raw, entry = _decode(row, number)
        if entry != row.get("entry") or entry.get("seq") != number:
            raise Discrepancy(number, "the readable entry is not its raw bytes, or out of order")
        previous = link(previous, raw)
        if row.get("hash") != previous:
            raise Discrepancy(number, "the hash chain breaks here")
        entries.append(entry)
    if previous != (document.get("head") or genesis(str(lot_id))):
        raise Discrepancy(len(rows), "the chain does not end at the exported head")
    _clear_values(document)
    anchored = ""
    if key is not None:
        proof: Any = document.get("transparency")
        _in_the_log(proof, str(lot_id), raw, previous, key)
        if tsa is not None:
            anchor = proof.get("anchor") if anchor is None else anchor
            anchored = "; " + verify_anchor(anchor, key, tsa, proof, len(rows))
    if document.get("kind") == "opening":
        envelopes = document.get("envelopes") or {}
        return _verify_opening(str(lot_id), entries, envelopes, previous) + anchored
    state = replay(entries, str(lot_id))
    signed = check_lot_log(str(lot_id), entries)
    outcome = state.outcome or f"open, in phase {state.phase}"
    return (f"ok: lot {lot_id}, {len(entries)} entries, {signed} signatures, chain head "
            f"{previous[:16]}…, {outcome}{anchored}")  # fmt: skip


def _clear_values(document: dict[str, Any]) -> None:
    """The staff's export names what each blinded name or ref hides: each must blind to it."""
    clear = document.get("clear")
    if clear is None:
        return
    try:
        key = bytes.fromhex(document["blinding_key"])
        pairs = [(str(b), str(v)) for b, v in dict(clear).items()]
    except Exception:
        raise Discrepancy(0, "the blinding key or the clear values do not decode") from None
    for blinded, value in pairs:
        if not unblinds(key, blinded, value):
            raise Discrepancy(0, f"{blinded} does not hide {value!r}")


def _in_the_log(proof: Any, log_id: str, raw: bytes, head: str, key: Verifier) -> None:
    """The export's last entry (`raw`), with this chain head, is in a checkpoint `key`
    signed."""
    seq = unpack(raw).get("seq", 0) if raw else 0
    if not isinstance(proof, dict):
        raise Discrepancy(seq, "the export carries no checkpoint and inclusion proof")
    try:
        checkpoint = key.checkpoint(str(proof.get("checkpoint")))
    except BadNote as error:
        raise Discrepancy(seq, f"the checkpoint does not hold: {error}") from None
    try:
        hashes = [base64.b64decode(h, validate=True) for h in proof["proof"]]
        index, size = int(proof["index"]), int(proof["size"])
    except Exception:
        raise Discrepancy(seq, "the inclusion proof does not decode") from None
    digest = hashlib.sha256(raw).hexdigest()
    named = (proof.get("log"), proof.get("entry"), proof.get("chain_hash"), size) == (
        log_id,
        digest,
        head,
        checkpoint.size,
    )
    hashed = leaf_hash(leaf(log_id, digest, head))
    if not named or not verify_inclusion(hashed, index, size, hashes, checkpoint.root):
        raise Discrepancy(seq, "the signed log does not hold this history: rewritten, or cut short")


def _decode(row: Any, number: int) -> tuple[bytes, dict[str, Any]]:
    try:
        raw = base64.b64decode(row["raw"], validate=True)
        entry = unpack(raw)
    except Exception:
        raise Discrepancy(number, "the raw entry does not decode") from None
    if not isinstance(entry, dict):
        raise Discrepancy(number, "the raw entry is not a map")
    return raw, entry


def _verify_opening(opening_id: str, entries: list[Any], sealed: Any, head: str) -> str:
    envelopes = {}
    for digest, row in dict(sealed).items():
        try:
            envelopes[digest] = (
                base64.b64decode(row["nonce"]),
                base64.b64decode(row["ciphertext"]),
            )
        except Exception:
            raise Discrepancy(0, f"envelope {digest} does not decode") from None
    state = replay_opening(opening_id, entries, envelopes)
    signed = check_opening_log(opening_id, entries)
    return (f"ok: opening {opening_id}, {len(entries)} entries, {signed} signatures, chain "
            f"head {head[:16]}…, phase {state.phase}")  # fmt: skip
