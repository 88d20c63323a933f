"""The reference rules of a remote bid opening (不见面开标): `(state, command, now) -> Step`.

Theory of operation
-------------------
The host drives an opening from phase to phase with `Advance`; the clock moves it twice: at
the bid deadline (no more envelopes; too few of them aborts the opening, 条例 第44条) and at
the end of the decryption window (whoever has not decrypted has failed, on the bidder's side
unless the host declared a platform fault). Like a lot, `step` first applies every passed
deadline, stamped at the deadline, then decides the command; a refusal changes no state and
writes one private `refused` entry carrying the command, so a replay can decide it again.

Phases, and what moves them::

    scheduled --bid_deadline--> sign_in | aborted (fewer envelopes than min_bidders)
    sign_in --advance--> bidders_published (公布投标人) | aborted (too few signed in)
    bidders_published --advance--> decryption (window; pause / resume)
    decryption --advance, once nobody is pending or the window closed--> read_out (唱标)
    read_out --advance--> confirmation (开标记录表 issued and hashed into the log)
    confirmation --advance, every objection answered--> ended --reopen--> confirmation (复会)

Decryption failures carry their side: a wrong key, a corrupt envelope or a missed window is
the bidder's (撤销, 电子招标投标办法 第31条); a fault the host declares is the platform's
(撤回), and only then may the host open the envelope with the bidder's backup key (备用解密).
Entries share the lot log's form (`seq`, `ts`, `kind`, `pub`, `plate`); `key` and `bid` are
never shown to the public (server/services/views.py), which sees the prices at the read-out.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

from auction.errors import Conflict, OpenBidError, Refused
from auction.log import EntryLog, Step, Tick
from auction.opening import deposits
from auction.opening.clock import clock
from auction.opening.config import OpeningConfig
from auction.opening.record import CONSEQUENCE, confirm, issue_record, objection, read_out_rows
from auction.opening.state import (
    NAMES,
    Advance,
    Backup,
    Confirm,
    Cosign,
    CreditCheck,
    Decrypt,
    Fault,
    Object,
    OpeningCommand,
    OpeningPhase,
    OpeningState,
    Pause,
    RegisterTenderer,
    Reopen,
    Reply,
    SignIn,
    Submit,
    TenderDeposit,
    Tenderer,
    Unpause,
    in_plate_order,
    tenderer_by_plate,
    tenderer_of,
    with_tenderer,
)
from auction.parties.check import log_check

__all__ = [
    "PHASE_ORDER",
    "PLATFORM_REASONS",
    "UNOPENED",
    "Step",
    "create",
    "key_sha256",
    "may_open",
    "step",
]

UNOPENED = "NOT_OPENED"  # a refused decryption's reason: nothing was opened, nothing kept
PLATFORM_REASONS = frozenset({"STORAGE_MISMATCH"})  # failures to open that are the platform's
NEXT = {
    OpeningPhase.SIGN_IN: OpeningPhase.BIDDERS_PUBLISHED,
    OpeningPhase.BIDDERS_PUBLISHED: OpeningPhase.DECRYPTION,
    OpeningPhase.DECRYPTION: OpeningPhase.READ_OUT,
    OpeningPhase.READ_OUT: OpeningPhase.CONFIRMATION,
    OpeningPhase.CONFIRMATION: OpeningPhase.ENDED,
}
PHASE_ORDER = (
    OpeningPhase.SIGN_IN,
    *NEXT.values(),
)  # the host's steps, in the order NEXT takes them


def create(config: OpeningConfig, now: int) -> Step[OpeningState]:
    state = OpeningState(config=config, deadline=config.bid_deadline)
    log = EntryLog(state)
    log.add(now, "created", True, object="opening", config=config.as_map())
    return Step(log.stamp(state), log.entries, {"accepted": True, "seq": 1, "pseq": 1})


def step(state: OpeningState, command: OpeningCommand, now: int) -> Step[OpeningState]:
    """Apply passed deadlines, then decide `command`. Errors outside the rules (unknown
    bidder, plate taken) come back as `{"accepted": False, "code"}` with no entry."""
    now = max(now, state.ts)
    log = EntryLog(state)
    state = clock(state, now, log)
    log.signing = getattr(command, "sig", None)  # on the entry it writes if accepted
    try:
        state, answer = _decide(state, command, now, log)
    except Refused as refusal:
        log.add(now, "refused", False, code=refusal.code, **_described(state, command))
        answer = {"accepted": False, "code": refusal.code}
    except OpenBidError as error:
        answer = {"accepted": False, "code": error.code}
    return Step(log.stamp(state), log.entries, log.with_pseq(answer))


def _described(state: OpeningState, command: OpeningCommand) -> dict[str, Any]:
    """A refused command as its entry keeps it: name, plate (a bidder's) and arguments. A
    refused decryption keeps only the key's SHA-256: a key handed over early would open
    the price for whoever reads the log before the opening (security review M1)."""
    args = {k: getattr(command, k) for k in command.__dataclass_fields__}
    if isinstance(command, Decrypt | Backup):
        kept = {"reason": command.reason or UNOPENED, "key_sha256": key_sha256(command)}
        args = {"plate": args.get("plate"), "bidder_id": args.get("bidder_id")} | kept
    bidder = args.pop("bidder_id", None)
    plate = state.tenderers[bidder].plate if bidder in state.tenderers else args.get("plate")
    args.pop("plate", None)
    if bidder is not None and bidder not in state.tenderers:  # a registration: no plate yet
        args["bidder_id"] = bidder  # names the bidder for the replay
    for unsigned in ("sig", "public_key"):  # kept only when sent
        if args.get(unsigned, "") is None:
            del args[unsigned]
    return {"command": NAMES[type(command)], "plate": plate, "args": args}


# ---- commands ----------------------------------------------------------------------------


def _decide(
    s: OpeningState, c: OpeningCommand, now: int, log: EntryLog
) -> tuple[OpeningState, dict[str, Any]]:
    match c:
        case Tick():
            return s, {}
        case RegisterTenderer():
            return _register(s, c, now, log)
        case CreditCheck():
            return _credit_check(s, c, now, log)
        case TenderDeposit():
            return deposits.deposit(s, c, now, log)
        case Submit():
            return _submit(s, c, now, log)
        case SignIn():
            return _sign_in(s, c, now, log)
        case Advance():
            return _advance(s, c, now, log)
        case Decrypt() | Backup():
            return _decrypt(s, c, now, log)
        case Fault():
            return _fault(s, c, now, log)
        case Cosign():
            return _cosign(s, c, now, log)
        case Pause() | Unpause():
            return _pause(s, c, now, log)
        case Confirm():
            return confirm(s, c, now, log)
        case Object() | Reply():
            return objection(s, c, now, log)
        case Reopen():
            return _reopen(s, c, now, log)
    raise TypeError(f"not an opening command: {c!r}")


def _open_for_envelopes(s: OpeningState, now: int) -> None:
    if s.phase != OpeningPhase.SCHEDULED or now >= s.config.bid_deadline:
        raise Refused("PHASE_CLOSED")


def _register(s: OpeningState, c: RegisterTenderer, now: int, log: EntryLog) -> tuple[Any, Any]:
    if c.bidder_id in s.tenderers or any(t.plate == c.plate for t in s.tenderers.values()):
        raise Conflict("投标人已登记", "bidder or plate already registered")
    _open_for_envelopes(s, now)
    key = {"public_key": c.public_key} if c.public_key else {}
    seq = log.add(
        now, "registered", False, plate=c.plate, bidder_id=c.bidder_id, name=c.name, **key
    )
    t = Tenderer(bidder_id=c.bidder_id, plate=c.plate, name=c.name)
    return with_tenderer(s, t), {"accepted": True, "seq": seq}


def _credit_check(s: OpeningState, c: CreditCheck, now: int, log: EntryLog) -> tuple[Any, Any]:
    """A party checked before it registers (auction/parties/check.py); while registration
    is closed there is nothing to check for, and nothing is logged."""
    if s.phase != OpeningPhase.SCHEDULED or now >= s.config.bid_deadline or c.at != "register":
        return s, {"accepted": False, "code": "PHASE_CLOSED"}
    return s, log_check(log, now, c)


def _submit(s: OpeningState, c: Submit, now: int, log: EntryLog) -> tuple[Any, Any]:
    t = tenderer_of(s, c.bidder_id)
    _open_for_envelopes(s, now)
    seq = log.add(now, "envelope", False, plate=t.plate, digest=c.digest,
                  commitment=c.commitment, size=c.size, replaces=t.envelope)  # fmt: skip
    t = replace(t, envelope=c.digest, commitment=c.commitment)
    return with_tenderer(s, t), {"accepted": True, "seq": seq, "digest": c.digest}


def _sign_in(s: OpeningState, c: SignIn, now: int, log: EntryLog) -> tuple[Any, Any]:
    t = tenderer_of(s, c.bidder_id)
    early = s.phase == OpeningPhase.SCHEDULED and now >= s.config.sign_in_opens_at
    if s.phase != OpeningPhase.SIGN_IN and not early:
        raise Refused("PHASE_CLOSED")
    if t.envelope is None:
        raise Refused("NO_ENVELOPE")
    if t.signed_in is not None:
        raise Refused("ALREADY_SUBMITTED")
    # an early sign-in stays private until the deadline: a public one would tell who has an
    # envelope while others may still submit (招标投标法 第22条; review R4)
    seq = log.add(now, "signed_in", s.phase != OpeningPhase.SCHEDULED, plate=t.plate)
    return with_tenderer(s, replace(t, signed_in=now)), {"accepted": True, "seq": seq}


def _advance(s: OpeningState, c: Advance, now: int, log: EntryLog) -> tuple[Any, Any]:
    to = NEXT.get(s.phase)
    if to is None or (c.to is not None and c.to != to):
        raise Refused("PHASE_CLOSED")
    if to == OpeningPhase.READ_OUT and not s.window_closed and _pending(s):
        raise Refused("NOT_READY")
    if to == OpeningPhase.ENDED and any(reply is None for reply in s.objections.values()):
        raise Refused("OBJECTION_OPEN")
    if to == OpeningPhase.BIDDERS_PUBLISHED:
        return _publish_bidders(s, now, log)
    if to == OpeningPhase.DECRYPTION:
        deadline = now + s.config.decrypt_window_s * 1000
        seq = log.add(now, "phase", True, command="advance", phase=to, deadline=deadline)
        return replace(s, phase=to, deadline=deadline), {"accepted": True, "seq": seq}
    if to == OpeningPhase.READ_OUT:
        seq = log.add(now, "phase", True, command="advance", phase=to)
        log.add(now, "read_out", True, rows=read_out_rows(s))
        return replace(s, phase=to, deadline=None, paused_left=None), {"accepted": True, "seq": seq}
    if to == OpeningPhase.CONFIRMATION:
        return issue_record(s, now, log)
    seq = log.add(now, "phase", True, command="advance", phase=to, session=s.session)
    return replace(s, phase=to), {"accepted": True, "seq": seq}


def _pending(s: OpeningState) -> bool:
    return any(t.valid and t.status == "pending" for t in s.tenderers.values())


def _publish_bidders(s: OpeningState, now: int, log: EntryLog) -> tuple[Any, Any]:
    valid = [t for t in in_plate_order(s) if t.valid]
    absent = [t for t in in_plate_order(s) if t.envelope is not None and not t.valid]
    named = [{"plate": t.plate, "name": t.name} | deposits.shown(s, t) for t in valid]
    unsigned = [{"plate": t.plate, "name": t.name} for t in absent]
    if len(valid) < s.config.min_bidders:
        seq = log.add(now, "phase", True, command="advance", phase=OpeningPhase.ABORTED,
                      reason="TOO_FEW_SIGNED_IN", count=len(valid))  # fmt: skip
        return replace(s, phase=OpeningPhase.ABORTED), {"accepted": True, "seq": seq}
    seq = log.add(now, "phase", True, command="advance", phase=OpeningPhase.BIDDERS_PUBLISHED,
                  bidders=named, not_signed_in=unsigned)  # fmt: skip
    return replace(s, phase=OpeningPhase.BIDDERS_PUBLISHED), {"accepted": True, "seq": seq}


def key_sha256(command: Decrypt | Backup) -> str:
    """The SHA-256 (hex) of the key a decryption handed over, as its refusal logs it."""
    return command.key_sha256 or hashlib.sha256(command.key.encode()).hexdigest()


def may_open(state: OpeningState, command: Decrypt | Backup, now: int) -> bool:
    """Whether the rules would take this decryption at `now`. The server opens an envelope
    only then: one opened and refused would have shown its price before its time."""
    s = clock(state, max(now, state.ts), EntryLog(state))
    try:
        _openable(s, command)
    except OpenBidError:
        return False
    return True


def _openable(s: OpeningState, c: Decrypt | Backup) -> Tenderer:
    """The tenderer whose envelope `c` may open now; raises the refusal otherwise."""
    backup = isinstance(c, Backup)
    t = tenderer_by_plate(s, c.plate) if isinstance(c, Backup) else tenderer_of(s, c.bidder_id)
    if s.phase != OpeningPhase.DECRYPTION or (
        not backup and (s.window_closed or s.paused_left is not None)
    ):
        raise Refused("PHASE_CLOSED")
    if not t.valid:
        raise Refused("NO_ENVELOPE")
    if t.status == "decrypted":
        raise Refused("ALREADY_SUBMITTED")
    if backup:
        _backup_allowed(s, t)
        if not t.cosigned:
            raise Refused("NEEDS_COSIGN")  # the host alone never opens an envelope (R10)
    return t


def _backup_allowed(s: OpeningState, t: Tenderer) -> None:
    """Backup decryption only where the tender documents name it as the remedy, and only for
    a failure that is the platform's (R10, RULES §3.4)."""
    if s.config.backup_remedy != "backup":
        raise Refused("NO_REMEDY")
    if t.side != "platform":
        raise Refused("NO_PLATFORM_FAULT")


def _decrypt(s: OpeningState, c: Decrypt | Backup, now: int, log: EntryLog) -> tuple[Any, Any]:
    t = _openable(s, c)
    via = "backup" if isinstance(c, Backup) else "key"
    if c.bid is not None:
        seq = log.add(now, "decrypted", True, plate=t.plate, via=via, key=c.key, bid=dict(c.bid))
        t = replace(t, status="decrypted", bid=c.bid)
        return with_tenderer(s, t), {"accepted": True, "seq": seq, "status": "decrypted"}
    # a key that does not open the envelope it committed to is the bidder's failure; an
    # envelope the store no longer holds as uploaded is the platform's (review M4)
    side = "platform" if c.reason in PLATFORM_REASONS else "bidder"
    seq = log.add(now, "decrypt_failed", True, plate=t.plate, via=via, key=c.key,
                  reason=c.reason, side=side, consequence=CONSEQUENCE[side])  # fmt: skip
    t = replace(t, status="failed", side=side)
    return with_tenderer(s, t), {
        "accepted": True,
        "seq": seq,
        "status": "failed",
        "reason": c.reason,
    }


def _fault(s: OpeningState, c: Fault, now: int, log: EntryLog) -> tuple[Any, Any]:
    t = tenderer_by_plate(s, c.plate)
    if s.phase != OpeningPhase.DECRYPTION:
        raise Refused("PHASE_CLOSED")
    if not t.valid:
        raise Refused("NO_ENVELOPE")
    if t.status == "decrypted":
        raise Refused("ALREADY_SUBMITTED")
    if t.side == "bidder":  # proven the bidder's: its key failed its own commitment (R10)
        raise Refused("BIDDER_SIDE")
    seq = log.add(now, "fault", True, plate=t.plate, side="platform",
                  consequence=CONSEQUENCE["platform"], note=c.note)  # fmt: skip
    return with_tenderer(s, replace(t, side="platform")), {"accepted": True, "seq": seq}


def _cosign(s: OpeningState, c: Cosign, now: int, log: EntryLog) -> tuple[Any, Any]:
    t = tenderer_by_plate(s, c.plate)
    if s.phase != OpeningPhase.DECRYPTION:
        raise Refused("PHASE_CLOSED")
    if t.status == "decrypted" or t.cosigned:
        raise Refused("ALREADY_SUBMITTED")
    _backup_allowed(s, t)
    seq = log.add(now, "cosigned", True, plate=t.plate, by="supervisor")
    return with_tenderer(s, replace(t, cosigned=True)), {"accepted": True, "seq": seq}


def _pause(s: OpeningState, c: Pause | Unpause, now: int, log: EntryLog) -> tuple[Any, Any]:
    pausing = isinstance(c, Pause)
    if (
        s.phase != OpeningPhase.DECRYPTION
        or s.window_closed
        or (s.paused_left is not None) == pausing
    ):
        raise Refused("PHASE_CLOSED")
    name = "pause" if pausing else "resume"
    if isinstance(c, Pause) and s.deadline is not None:
        left = s.deadline - now
        seq = log.add(now, "phase", True, command=name, phase=s.phase, paused=True, left=left)
        return replace(s, deadline=None, paused_left=left), {"accepted": True, "seq": seq}
    deadline = now + (s.paused_left or 0)
    seq = log.add(now, "phase", True, command=name, phase=s.phase, paused=False, deadline=deadline)
    return replace(s, deadline=deadline, paused_left=None), {"accepted": True, "seq": seq}


def _reopen(s: OpeningState, c: Reopen, now: int, log: EntryLog) -> tuple[Any, Any]:
    if s.phase != OpeningPhase.ENDED:
        raise Refused("PHASE_CLOSED")
    session = s.session + 1
    seq = log.add(now, "phase", True, command="reopen", phase=OpeningPhase.CONFIRMATION,
                  session=session, reason=c.reason)  # fmt: skip
    return replace(s, phase=OpeningPhase.CONFIRMATION, session=session), {
        "accepted": True,
        "seq": seq,
    }
