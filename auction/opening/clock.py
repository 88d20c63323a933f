"""What the clock does to an opening: at the bid deadline no more envelopes (too few abort
the opening, 条例 第44条); at the end of the decryption window whoever has not decrypted has
failed, on the bidder's side unless the host declared a platform fault. Each is stamped at
its deadline, however late the clock comes by."""

from __future__ import annotations

from dataclasses import replace

from auction.log import EntryLog
from auction.opening.record import CONSEQUENCE
from auction.opening.state import OpeningPhase, OpeningState, in_plate_order

__all__ = ["clock"]


def clock(s: OpeningState, now: int, log: EntryLog) -> OpeningState:
    """Every deadline passed by `now`, in order."""
    while s.deadline is not None and now >= s.deadline:
        passed = _deadline_passed if s.phase == OpeningPhase.SCHEDULED else _window_closed
        s = passed(s, s.deadline, log)
    return s


def _deadline_passed(s: OpeningState, due: int, log: EntryLog) -> OpeningState:
    envelopes = sum(t.envelope is not None for t in s.tenderers.values())
    if envelopes < s.config.min_bidders:
        log.add(
            due,
            "phase",
            True,
            phase=OpeningPhase.ABORTED,
            reason="TOO_FEW_ENVELOPES",
            count=envelopes,
        )
        return replace(s, phase=OpeningPhase.ABORTED, deadline=None)
    early = sorted(t.plate for t in s.tenderers.values() if t.signed_in is not None)
    log.add(due, "phase", True, phase=OpeningPhase.SIGN_IN, count=envelopes, signed_in=early)
    return replace(s, phase=OpeningPhase.SIGN_IN, deadline=None)


def _window_closed(s: OpeningState, due: int, log: EntryLog) -> OpeningState:
    tenderers = dict(s.tenderers)
    for t in in_plate_order(s):
        if t.valid and t.status != "decrypted":
            side = t.side or "bidder"
            log.add(due, "decrypt_failed", True, plate=t.plate, reason="WINDOW_CLOSED",
                    side=side, consequence=CONSEQUENCE[side])  # fmt: skip
            tenderers[t.bidder_id] = replace(t, status="failed", side=side)
    log.add(due, "phase", True, phase=OpeningPhase.DECRYPTION, window_closed=True)
    return replace(s, tenderers=tenderers, deadline=None, window_closed=True)
