"""Suspension (中止), resumption and termination of a lot: the host or the supervisor
suspends at once (and the platform does, at a deadline reached late); resuming and
terminating take both, the first role's call logged as asked (RULES §1.9, §5.7). And the
supervisor's break-glass look at what the lot keeps secret until the close (R9)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auction.errors import Conflict, Refused
from auction.log import EntryLog
from auction.lot.closing import close
from auction.lot.state import LotPhase, LotState, Resume, Suspend, Terminate, Unmask

__all__ = ["suspend", "suspend_command", "two_person", "unmask"]


def suspend(
    s: LotState, now: int, log: EntryLog, by: str, reason: str, actor: str | None = None
) -> tuple[LotState, int]:
    """Freeze the lot where it stands: its phase and what its deadline had left."""
    left = None if s.deadline is None else max(0, s.deadline - now)
    seq = log.add(
        now, "suspended", True, phase=s.phase, left=left, by=by, reason=reason, actor=actor
    )
    return replace(s, phase=LotPhase.SUSPENDED, deadline=None, held=(s.phase, left, now)), seq


def suspend_command(
    s: LotState, c: Suspend, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    if s.phase == LotPhase.CLOSED:
        raise Refused("PHASE_CLOSED")
    if s.phase == LotPhase.SUSPENDED:
        raise Conflict("竞价已中止", "the lot is suspended already")
    s, seq = suspend(s, now, log, c.by, c.reason, c.actor)
    return s, {"accepted": True, "seq": seq}


def two_person(
    s: LotState, c: Resume | Terminate, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    """Resume and terminate take two people: the first role's call is logged as asked, the
    other role's carries it out (the same role twice is a CONFLICT)."""
    action = "resume" if isinstance(c, Resume) else "terminate"
    if s.phase == LotPhase.CLOSED or (action == "resume" and s.phase != LotPhase.SUSPENDED):
        raise Refused("PHASE_CLOSED")
    if s.pending is None or s.pending[0] != action:
        seq = log.add(
            now, "requested", False, action=action, by=c.by, reason=c.reason, actor=c.actor
        )
        return replace(s, pending=(action, c.by)), {"accepted": True, "seq": seq, "pending": action}
    if s.pending[1] == c.by:
        raise Conflict("须由另一方确认", "the other role must confirm")
    s = replace(s, pending=None)
    if isinstance(c, Terminate):
        s = close(s, now, log, None, terminated=c)
        return s, {"accepted": True, "seq": log.seq}
    return resume(s, c, now, log)


def resume(s: LotState, c: Resume, now: int, log: EntryLog) -> tuple[LotState, dict[str, Any]]:
    """限时 gets a full countdown from now; any other phase gets back what it had left."""
    assert s.held is not None
    phase, left, since = s.held
    if phase == LotPhase.LIMITED:
        deadline: int | None = now + s.config.countdown_s * 1000
    else:
        deadline = None if left is None else now + left
    seq = log.add(
        now, "resumed", True, phase=phase, deadline=deadline, by=c.by, reason=c.reason,
        actor=c.actor,
    )  # fmt: skip
    took = now - since  # registration and deposits keep what they had left, like the phase
    apply_by, deposit_by = s.apply_by, s.deposit_by
    s = replace(
        s, phase=phase, deadline=deadline, held=None, shift=s.shift + took,
        apply_by=apply_by + took if since <= apply_by else apply_by,
        deposit_by=deposit_by + took if since <= deposit_by else deposit_by,
    )  # fmt: skip
    return s, {"accepted": True, "seq": seq, "deadline": deadline}


def unmask(s: LotState, c: Unmask, now: int, log: EntryLog) -> tuple[LotState, dict[str, Any]]:
    """Log the supervisor's break-glass look, publicly, with its reason; the server shows
    the names and the reserve only once this is logged. After the close there is nothing
    left to unmask."""
    if s.phase == LotPhase.CLOSED:
        raise Refused("PHASE_CLOSED")
    seq = log.add(now, "unmasked", True, by=c.by, reason=c.reason, actor=c.actor)
    return s, {"accepted": True, "seq": seq}
