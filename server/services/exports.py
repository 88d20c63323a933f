"""The exports `openbid verify` reads: a log chained up to now, each entry raw and readable,
with a signed checkpoint and the inclusion proof of its last entry; the staff's adds what
the blinded names and refs hide, the public's comes once the lot has closed."""

from __future__ import annotations

import base64
from typing import Any

from auction.errors import Conflict
from server.services import unmasking
from server.services.lots import LotService
from server.store.scripts import unpack

__all__ = ["AUDIT_FORMAT", "audit", "export_log", "public_audit"]

AUDIT_FORMAT = "openbid-audit/1"


async def audit(service: LotService, lot_id: str) -> dict[str, Any]:
    """The full hash-chained log (staff only), and once the lot has closed what its blinded
    names and refs hide, with the key that checks them: before, the staff see no name
    behind a plate (R9)."""
    if not await unmasking.closed(service, lot_id):  # NotFound for an unknown lot
        return await export_log(service, lot_id)
    clear = {"blinding_key": service.book.blinding_key(lot_id).hex(),
             "clear": await service.book.clear_values(lot_id)}  # fmt: skip
    return await export_log(service, lot_id) | clear


async def public_audit(service: LotService, lot_id: str) -> dict[str, Any]:
    """The log for anyone once the lot has closed: every entry as logged (names and refs
    are blinded in the log itself), so it verifies and replays as the staff's does. Before
    the close it would show what the rules keep secret (R5)."""
    if not await unmasking.closed(service, lot_id):  # NotFound for an unknown lot
        raise Conflict("竞价结束后公开", "the log is published once the lot has closed")
    return await export_log(service, lot_id)


async def export_log(service: LotService, log_id: str) -> dict[str, Any]:
    """A lot's or an opening's log, chained up to now, each entry raw and readable."""
    seq, head = await service.chainer.catch_up(log_id)
    raws = await service.logs.log(log_id)
    hashes = await service.logs.chain_hashes(log_id)
    rows = []
    for raw in raws[:seq]:
        entry = unpack(raw)
        rows.append({"seq": entry["seq"], "hash": hashes.get(entry["seq"]),
                     "raw": base64.b64encode(raw).decode(), "entry": entry})  # fmt: skip
    proof = await service.transparency.proof_for_export(log_id, seq)
    return {"format": AUDIT_FORMAT, "lot_id": log_id, "head": head, "entries": rows,
            "transparency": proof}  # fmt: skip
