"""`openbid verify --key K --tsa-cert TSA.pem [--anchor A.json] EXPORT`: the export's log is
anchored in time. An anchor (the export's own, `transparency.anchor`, or the answer of
`GET /api/log/anchor?consistent_with=SIZE` given as `--anchor`) is a checkpoint and an
RFC 3161 token over its note; it holds when

- the checkpoint is signed by the log's key,
- the token's imprint is SHA-256 of that note's bytes, its signature holds and its signer
  chains to the TSA certificate given (the TSA's own or its CA's),
- the anchored tree and the export's are one log: the same root at one size, else the
  consistency proof from the smaller to the larger (the anchor's `consistency`).

Then every leaf of the anchored tree was logged by the token's time; when the export's
last entry is one of them, so is the whole history the export shows.
"""

from __future__ import annotations

import base64
from typing import Any

from asn1crypto import x509

from auction.checkpoint import BadNote, Checkpoint, Verifier
from auction.log import Discrepancy
from auction.merkle import verify_consistency
from server.timestamps import BadToken, check_token

__all__ = ["verify_anchor"]


def verify_anchor(
    anchor: Any, key: Verifier, trusted: list[x509.Certificate], proof: dict[str, Any], seq: int
) -> str:
    """What `anchor` proves of the export whose transparency section is `proof` (checked
    already against `key`), as a phrase of the summary; Discrepancy at `seq` otherwise."""
    if not isinstance(anchor, dict):
        raise Discrepancy(seq, "the export carries no anchor (the log was not anchored when it "
                          "was made): give --anchor, GET /api/log/anchor?consistent_with="
                          f"{proof.get('size')}")  # fmt: skip
    try:
        note, size = str(anchor["checkpoint"]), int(anchor["size"])
        token = base64.b64decode(anchor["token"], validate=True)
    except Exception:
        raise Discrepancy(seq, "the anchor does not decode") from None
    try:
        anchored = key.checkpoint(note)
    except BadNote as error:
        raise Discrepancy(seq, f"the anchored checkpoint does not hold: {error}") from None
    try:
        stamp = check_token(token, note.encode(), trusted)
    except BadToken as error:
        raise Discrepancy(seq, f"the anchor does not hold: {error}") from None
    if (
        size != anchored.size
        or anchor.get("time", stamp.time.isoformat()) != stamp.time.isoformat()
    ):
        raise Discrepancy(seq, "the anchor's size or time is not its checkpoint's and token's")
    exported = key.checkpoint(str(proof["checkpoint"]))
    _one_log(anchored, exported, anchor.get("consistency"), seq)
    covered = (
        "this history"
        if int(proof["index"]) < anchored.size
        else f"the log's first {anchored.size} leaves (not yet this history's last entry)"
    )
    return f"anchored: {covered} logged by {stamp.time.isoformat()} (RFC 3161, {stamp.tsa})"


def _one_log(anchored: Checkpoint, exported: Checkpoint, consistency: Any, seq: int) -> None:
    """The anchored tree and the export's are one log's, or Discrepancy."""
    small, large = sorted((anchored, exported), key=lambda checkpoint: checkpoint.size)
    if small.size == large.size:
        holds = small.root == large.root
    else:
        given = consistency if isinstance(consistency, dict) else {}
        if (given.get("from"), given.get("to")) != (small.size, large.size):
            raise Discrepancy(seq, f"the anchor (a tree of {anchored.size}) and the export (of "
                              f"{exported.size}) need the proof GET /api/log/consistency?from="
                              f"{small.size}&to={large.size} as the anchor's "
                              '"consistency"')  # fmt: skip
        try:
            hashes = [base64.b64decode(h, validate=True) for h in given["proof"]]
        except Exception:
            raise Discrepancy(seq, "the anchor's consistency proof does not decode") from None
        holds = verify_consistency(small.size, large.size, small.root, large.root, hashes)
    if not holds:
        raise Discrepancy(seq, "the anchored checkpoint and the export's are not one log's: "
                          "the consistency proof fails")  # fmt: skip
