"""The 开标记录表 and what follows the read-out: the 唱标 rows, the record issued with its hash,
the bidders' confirmations, objections and replies (one open objection a bidder)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

from auction.errors import NotFound, Refused
from auction.log import EntryLog
from auction.opening import deposits
from auction.opening.state import (
    Confirm,
    Object,
    OpeningPhase,
    OpeningState,
    Reply,
    in_plate_order,
    tenderer_of,
    with_tenderer,
)

STATUS_WORDS = {
    "decrypted": "解密成功",
    "failed": "解密失败",
    "not_signed_in": "未签到",
}  # as printed

__all__ = [
    "CONSEQUENCE",
    "RECORD_FORMAT",
    "STATUS_WORDS",
    "confirm",
    "issue_record",
    "objection",
    "read_out_rows",
    "record_hash",
]

RECORD_FORMAT = "openbid-opening-record/1"
CONSEQUENCE = {"bidder": "撤销", "platform": "撤回"}


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the record's canonical JSON (sorted keys, UTF-8, no spaces)."""
    text = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def read_out_rows(s: OpeningState) -> list[dict[str, Any]]:
    """唱标 rows: every bidder that sent an envelope, in plate order."""
    rows = []
    for t in in_plate_order(s):
        if t.envelope is None:
            continue
        status = t.status if t.signed_in is not None else "not_signed_in"
        bid = dict(t.bid) if t.bid is not None else {}
        rows.append({
            "plate": t.plate, "name": t.name, "status": status,
            "price": bid.get("price"), "duration_days": bid.get("duration_days"),
            "quality": bid.get("quality"), "attachment": bid.get("attachment"),
            "side": t.side if status == "failed" else None,
            "consequence": CONSEQUENCE[t.side] if status == "failed" and t.side else None,
        } | deposits.shown(s, t))  # fmt: skip
    return rows


def issue_record(s: OpeningState, now: int, log: EntryLog) -> tuple[Any, Any]:
    c = s.config
    record = {
        "format": RECORD_FORMAT, "title": c.title, "bid_deadline": c.bid_deadline,
        "min_bidders": c.min_bidders, "issued_at": now, "rows": read_out_rows(s),
    }  # fmt: skip
    digest = record_hash(record)
    seq = log.add(
        now, "phase", True, command="advance", phase=OpeningPhase.CONFIRMATION, session=s.session
    )
    log.add(now, "record", True, record=record, record_hash=digest)
    return replace(s, phase=OpeningPhase.CONFIRMATION, record_hash=digest), {
        "accepted": True,
        "seq": seq,
    }


def confirm(s: OpeningState, c: Confirm, now: int, log: EntryLog) -> tuple[Any, Any]:
    t = tenderer_of(s, c.bidder_id)
    if s.phase != OpeningPhase.CONFIRMATION:
        raise Refused("PHASE_CLOSED")
    if not t.valid:
        raise Refused("NO_ENVELOPE")
    if t.confirmed == s.session:
        raise Refused("ALREADY_SUBMITTED")
    seq = log.add(now, "confirmed", True, plate=t.plate, session=s.session,
                  record_hash=s.record_hash)  # fmt: skip
    return with_tenderer(s, replace(t, confirmed=s.session)), {"accepted": True, "seq": seq}


def objection(s: OpeningState, c: Object | Reply, now: int, log: EntryLog) -> tuple[Any, Any]:
    if s.phase not in (OpeningPhase.READ_OUT, OpeningPhase.CONFIRMATION):
        raise Refused("PHASE_CLOSED")
    if isinstance(c, Object):
        t = tenderer_of(s, c.bidder_id)
        if t.envelope is None:
            raise Refused("NO_ENVELOPE")
        if t.objecting is not None:  # one open objection each: answered before the next
            raise Refused("OBJECTION_OPEN")
        objection_id = str(log.seq + 1)
        seq = log.add(now, "objection", True, plate=t.plate, objection_id=objection_id,
                      text=c.text)  # fmt: skip
        objections = {**s.objections, objection_id: None}
        s = with_tenderer(s, replace(t, objecting=objection_id))
        return replace(s, objections=objections), {"accepted": True, "seq": seq,
                                                    "objection_id": objection_id}  # fmt: skip
    if c.objection_id not in s.objections:
        raise NotFound("objection")
    if s.objections[c.objection_id] is not None:
        raise Refused("ALREADY_SUBMITTED")
    seq = log.add(now, "reply", True, objection_id=c.objection_id, text=c.text)
    objections = {**s.objections, c.objection_id: str(seq)}
    for t in s.tenderers.values():
        if t.objecting == c.objection_id:
            s = with_tenderer(s, replace(t, objecting=None))
    return replace(s, objections=objections), {"accepted": True, "seq": seq}
