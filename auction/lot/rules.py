"""The reference rules of a lot: `(state, command, now) -> (state, entries, answer)`.

Theory of operation
-------------------
A lot is a state machine whose phases move for two reasons: a command, or the clock.
`step` first lets the clock act (`advance`): while `now >= state.deadline`, the phase that
owned the deadline ends, with the entry stamped at the deadline itself (never later work's
time), so a lot that nobody touched for an hour still closes at the right moment in the log.
Then the command is decided against that state. A refused command changes no state and adds
one `refused` entry; a resent bid_id or deposit ref adds nothing and gets its first answer
(a deposit ref already used for another bidder is a CONFLICT, with no entry).

Registration and deposits close at `apply_ends_at` and `deposit_ends_at` (by default
`free_ends_at`); a suspension before them moves them on by what it took. A bidder from the
party library is credit-checked before each of its deposits, and a listed one does not
qualify (auction/lot/admission.py).

Phases and their deadlines::

    scheduled --opens_at--> free (listing, auction) | limited (auction, no free time)
                            | sealed | dutch
    free      --free_ends_at--> inquiry (listing) | limited (auction)
    inquiry   --end--> limited (someone continued) | closed
    limited   --deadline, reset to bid time + countdown on every bid--> closed
    sealed    --free_ends_at, with the bids opened--> closed (highest wins, earlier bid
              wins a tie; it waits at the deadline until a Tick brings them opened)
    dutch     --first accept--> closed sold; --past the floor--> closed failed
    limited   --a bid reaching the cap--> capped --deadline--> closed (a secondary round
                      on `indicator` among those who accept the cap price, or the lone
                      acceptor wins) | capped with the lottery's pool, no deadline
                      --Draw by the supervisor--> closed
    free      --a bid reaching the cap: no more quotes, the phase clock runs on;
                free_ends_at--> capped (the cap waits for 限时, R2)
    any but closed --Suspend, or a deadline reached late--> suspended (clock frozen)
    suspended --Resume by host and supervisor--> the phase it left (限时 with a full
                      countdown, the others with the time they had left)
    any but closed --Terminate by host and supervisor--> closed (terminated)
    any but closed --Unmask by the supervisor--> the same (a public `unmasked` entry: R9)

The same decisions are made by the bid book's Lua script in Redis; the test suite holds
the two to identical entries and answers, and `openbid verify` replays logs through this.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from auction.errors import OpenBidError, Refused
from auction.log import EntryLog, Step, Tick
from auction.lot import guarantees, settlement
from auction.lot.admission import bidder_of, credit_check, deposit, register, with_bidder
from auction.lot.closing import close, draw, fix_pool, settle, settle_sealed
from auction.lot.commit import created_fields
from auction.lot.config import LotConfig
from auction.lot.prices import check_grid, dutch_end, dutch_price
from auction.lot.shares import bid_share
from auction.lot.state import (
    Accept,
    Bidder,
    Command,
    Continue,
    CreditCheck,
    Deposit,
    Draw,
    LotPhase,
    LotState,
    PlaceBid,
    Register,
    Resume,
    Secrets,
    Suspend,
    Terminate,
    Unmask,
)
from auction.lot.suspension import suspend, suspend_command, two_person, unmask
from auction.money.guarantee import ConfirmGuarantee, FileGuarantee, RevokeGuarantee
from auction.money.settlement import Contract, Default, Refunded

__all__ = ["Step", "advance", "create", "step"]


def step(state: LotState, command: Command, now: int) -> Step[LotState]:
    """Advance to `now`, then decide `command`. Never raises: what the clock did stays done,
    and an error outside the rules (unknown bidder, plate taken, deposit after the close)
    comes back as `{"accepted": False, "code": ...}` with no entry, like a refusal with none."""
    now = max(now, state.ts)  # the log's time never runs backwards, whatever the clock does
    log = EntryLog(state)
    state = advance(state, now, log, command if isinstance(command, Tick) else None)
    log.signing = getattr(command, "sig", None)  # on the entry it writes if accepted
    try:
        match command:
            case PlaceBid():
                state, answer = _bid(state, command, now, log)
            case Continue() | Accept():
                state, answer = _refusable(state, command, now, log)
            case Deposit():
                state, answer = deposit(state, command, now, log)
            case Register():
                state, answer = register(state, command, now, log)
            case CreditCheck():
                state, answer = credit_check(state, command, now, log)
            case FileGuarantee():
                state, answer = guarantees.file(state, command, now, log)
            case ConfirmGuarantee():
                state, answer = guarantees.confirm(state, command, now, log)
            case RevokeGuarantee():
                state, answer = guarantees.revoke(state, command, now, log)
            case Contract():
                state, answer = settlement.contract(state, command, now, log)
            case Default():
                state, answer = settlement.default(state, command, now, log)
            case Refunded():
                state, answer = settlement.refunded(state, command, now, log)
            case Suspend():
                state, answer = suspend_command(state, command, now, log)
            case Resume() | Terminate():
                state, answer = two_person(state, command, now, log)
            case Draw():
                state, answer = draw(state, command, now, log)
            case Unmask():
                state, answer = unmask(state, command, now, log)
            case Tick():
                answer = {}
    except OpenBidError as error:
        answer = {"accepted": False, "code": error.code}
    return Step(log.stamp(state), log.entries, log.with_pseq(answer))


def create(
    config: LotConfig, secrets: Secrets, now: int, sealing_commitment: str | None = None
) -> Step[LotState]:
    """A new lot in `scheduled`, with its public `created` entry (the commitments in it)."""
    state = LotState(
        config=config, secrets=secrets, deadline=config.opens_at,
        apply_by=config.apply_deadline, deposit_by=config.deposit_deadline,
    )  # fmt: skip
    log = EntryLog(state)
    log.add(now, "created", True, **created_fields(config, secrets, sealing_commitment))
    return Step(log.stamp(state), log.entries, {"accepted": True, "seq": 1, "pseq": 1})


# ---- the clock ---------------------------------------------------------------------------


def advance(state: LotState, now: int, log: EntryLog, reveal: Tick | None = None) -> LotState:
    """Apply every deadline that has passed by `now`, each stamped at its own time. A
    deadline reached more than `late_grace_s` late (the store or the server was down or
    stalled) suspends the lot instead: nobody could bid, so nothing is decided. A sealed lot
    closes only with its bids opened (`reveal.opened`): until then it waits at its deadline,
    taking no bid."""
    while (due := state.deadline) is not None and now >= due:
        if state.phase != LotPhase.SCHEDULED and now - due > state.config.late_grace_s * 1000:
            return suspend(state, now, log, "platform", "platform")[0]  # nobody could bid
        if state.phase != LotPhase.SEALED:
            state = _expire(state, due, log)
        elif reveal is not None and reveal.opened is not None:
            state = settle_sealed(state, due, log, reveal)
        else:
            break
    return state


def _expire(s: LotState, due: int, log: EntryLog) -> LotState:
    c = s.config
    if s.phase == LotPhase.SCHEDULED:
        return _open(s, due, log)
    if s.phase == LotPhase.FREE and _at_cap(s):  # capped before 限时: its procedure starts now
        return _phase(s, LotPhase.CAPPED, due + c.after_cap_ms, due, log)
    if s.phase == LotPhase.FREE and c.mode == "listing":
        return _phase(s, LotPhase.INQUIRY, due + c.inquiry_s * 1000, due, log)
    if s.phase == LotPhase.FREE:
        return _phase(s, LotPhase.LIMITED, due + c.countdown_s * 1000, due, log)
    continued = _continued(s)
    if s.phase == LotPhase.INQUIRY and continued and continued >= c.min_continued:
        if s.leader is not None:  # the listing's leader is in the round without asking
            s = with_bidder(s, s.bidders[s.leader], continued=True)
        return _phase(s, LotPhase.LIMITED, due + c.countdown_s * 1000, due, log)
    if s.phase == LotPhase.CAPPED and c.after_cap == "lottery":
        return fix_pool(s, due, log)
    if s.phase == LotPhase.DUTCH:
        return close(s, due, log, None)
    return settle(s, due, log)  # inquiry with nobody continuing, limited, capped secondary


def _open(s: LotState, due: int, log: EntryLog) -> LotState:
    """Open at `due`; the configured times move on by what suspensions took (`shift`)."""
    c = s.config
    if c.mode == "sealed":
        return _phase(s, LotPhase.SEALED, c.free_ends_at + s.shift, due, log)
    if c.mode == "dutch":
        return _phase(s, LotPhase.DUTCH, dutch_end(s) + s.shift, due, log)
    if c.free_ends_at > c.opens_at:
        return _phase(s, LotPhase.FREE, c.free_ends_at + s.shift, due, log)
    return _phase(s, LotPhase.LIMITED, due + c.countdown_s * 1000, due, log)


def _phase(s: LotState, phase: LotPhase, deadline: int, ts: int, log: EntryLog) -> LotState:
    log.add(ts, "phase", True, phase=phase, deadline=deadline)
    return replace(s, phase=phase, deadline=deadline)


# ---- commands ----------------------------------------------------------------------------


def _at_cap(s: LotState) -> bool:
    return s.config.cap is not None and s.price is not None and s.price >= s.config.cap


def _continued(s: LotState) -> int:
    return sum(b.continued for b in s.bidders.values())


def _bid(s: LotState, cmd: PlaceBid, now: int, log: EntryLog) -> tuple[LotState, dict[str, Any]]:
    bidder = bidder_of(s, cmd.bidder_id)
    key = f"{cmd.bidder_id}|{cmd.bid_id}"
    if key in s.answers:
        return s, s.answers[key]
    try:
        s, answer = _decide_bid(s, bidder, cmd, now, log)
    except Refused as refusal:
        asked = {} if cmd.quantity is None else {"quantity": cmd.quantity}
        seq = log.add(
            now, "refused", False, plate=bidder.plate, command="bid", code=refusal.code,
            bid_id=cmd.bid_id, price=cmd.price, indicator=cmd.indicator, sealed=cmd.sealed,
            **asked,
        )  # fmt: skip
        answer = {"accepted": False, "code": refusal.code, "seq": seq}
    answer = log.with_pseq(answer)  # stored as given: a resent bid_id gets it whole
    return replace(s, answers={**s.answers, key: answer}), answer


def _decide_bid(
    s: LotState, bidder: Bidder, cmd: PlaceBid, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    if s.phase == LotPhase.SUSPENDED:
        raise Refused("SUSPENDED")
    if (
        s.phase == LotPhase.CAPPED
        and s.config.after_cap == "secondary"
        and cmd.indicator is not None
    ):
        return _indicator(s, bidder, cmd.bid_id, cmd.indicator, now, log)
    if cmd.price is not None and (s.phase == LotPhase.CAPPED or _at_cap(s)):
        raise Refused("CAP_REACHED")  # before 限时 the cap waits for the phase clock (R2)
    given = (
        cmd.sealed if s.phase == LotPhase.SEALED else cmd.price
    )  # a sealed lot takes sealed bids
    if s.phase not in (LotPhase.FREE, LotPhase.LIMITED, LotPhase.SEALED) or given is None:
        raise Refused("PHASE_CLOSED")
    if s.phase == LotPhase.SEALED and s.deadline is not None and now >= s.deadline:
        raise Refused("PHASE_CLOSED")  # past it, waiting to be opened
    if not bidder.qualified:
        raise Refused("NOT_QUALIFIED")
    if cmd.sealed is not None:
        return _sealed(s, bidder, cmd.bid_id, cmd.sealed, now, log)
    assert cmd.price is not None
    if s.phase == LotPhase.LIMITED and s.config.mode == "listing" and not bidder.continued:
        raise Refused("NOT_QUALIFIED")  # the 限时 round is for those who continued
    if s.config.quantity is not None or cmd.quantity is not None:
        return bid_share(s, bidder, cmd.bid_id, cmd.price, cmd.quantity, now, log)
    return _price(s, bidder, cmd.bid_id, cmd.price, now, log)


def _price(
    s: LotState, bidder: Bidder, bid_id: str, price: int, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    c = s.config
    capped = c.cap is not None and price >= c.cap
    if capped and c.cap is not None:
        price = c.cap
    else:
        base = c.start_price if s.price is None else s.price
        check_grid(base, price, c.increment, s.price is None)
    deadline = now + c.countdown_s * 1000 if s.phase == LotPhase.LIMITED else s.deadline
    if s.phase == LotPhase.FREE and not bidder.quoted:  # for the listing's entry rule
        s = with_bidder(s, bidder, quoted=True)
    s = replace(s, price=price, leader=bidder.bidder_id, deadline=deadline)
    seq = log.add(
        now, "bid", True, plate=bidder.plate, bid_id=bid_id, price=price, phase=s.phase,
        deadline=deadline,
    )  # fmt: skip
    if capped:  # the cap's bidder accepts it; in 限时 its procedure starts now (R2)
        s = replace(s, acceptors=(bidder.bidder_id,))
        if s.phase == LotPhase.LIMITED:
            s = _phase(s, LotPhase.CAPPED, now + c.after_cap_ms, now, log)
    return s, {"accepted": True, "seq": seq, "price": price, "deadline": s.deadline}


def _sealed(
    s: LotState, bidder: Bidder, bid_id: str, sealed: str, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    """One sealed bid a bidder; its price is checked against the grid when it is opened."""
    if bidder.sealed_box is not None:
        raise Refused("ALREADY_SUBMITTED")
    seq = log.add(
        now, "bid", False, plate=bidder.plate, bid_id=bid_id, sealed=sealed, phase=LotPhase.SEALED,
        deadline=s.deadline,
    )  # fmt: skip
    s = with_bidder(s, bidder, sealed_box=sealed, sealed_seq=seq)
    return s, {"accepted": True, "seq": seq, "deadline": s.deadline}


def _indicator(
    s: LotState, bidder: Bidder, bid_id: str, value: int, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    if bidder.bidder_id not in s.acceptors:  # who accepted the cap price may go on (R11)
        raise Refused("NOT_QUALIFIED")
    check_grid(s.indicator, value, s.config.secondary_increment, False)
    deadline = now + s.config.countdown_s * 1000
    seq = log.add(
        now, "indicator", True, plate=bidder.plate, bid_id=bid_id, indicator=value,
        deadline=deadline,
    )  # fmt: skip
    s = replace(s, indicator=value, indicator_leader=bidder.bidder_id, deadline=deadline)
    return s, {"accepted": True, "seq": seq, "indicator": value, "deadline": deadline}


def _refusable(
    s: LotState, cmd: Continue | Accept, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    bidder = bidder_of(s, cmd.bidder_id)
    name = "continue" if isinstance(cmd, Continue) else "accept"
    try:
        if s.phase == LotPhase.SUSPENDED:
            raise Refused("SUSPENDED")
        if isinstance(cmd, Continue):
            return _continue(s, bidder, now, log)
        return _accept(s, bidder, now, log)
    except Refused as refusal:
        seq = log.add(now, "refused", False, plate=bidder.plate, command=name, code=refusal.code)
        return s, {"accepted": False, "code": refusal.code, "seq": seq}


def _continue(
    s: LotState, bidder: Bidder, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    if s.phase != LotPhase.INQUIRY:
        raise Refused("PHASE_CLOSED")
    if not bidder.qualified or (s.config.entry_rule == "quoted" and not bidder.quoted):
        raise Refused("NOT_QUALIFIED")
    if bidder.continued:
        raise Refused("ALREADY_SUBMITTED")
    seq = log.add(now, "continue", False, plate=bidder.plate)
    return with_bidder(s, bidder, continued=True), {"accepted": True, "seq": seq}


def _accept(
    s: LotState, bidder: Bidder, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    capped = s.phase == LotPhase.CAPPED  # accepting the cap price: the lottery's pool, or the
    if (s.phase != LotPhase.DUTCH and not capped) or s.awaiting_draw:  # secondary round's (R11)
        raise Refused("PHASE_CLOSED")
    if not bidder.qualified:
        raise Refused("NOT_QUALIFIED")
    if capped:
        if s.config.mode == "listing" and not bidder.continued and _continued(s):
            raise Refused("NOT_QUALIFIED")  # capped in 限时: the pool is its round's (R12)
        if bidder.bidder_id in s.acceptors:
            raise Refused("ALREADY_SUBMITTED")
        seq = log.add(now, "accept", False, plate=bidder.plate, price=s.price)
        s = replace(s, acceptors=(*s.acceptors, bidder.bidder_id))
        return s, {"accepted": True, "seq": seq, "price": s.price}
    price = dutch_price(s.config, now - s.shift)  # the clock the price falls by stood still
    seq = log.add(now, "accept", False, plate=bidder.plate, price=price)
    s = replace(s, price=price, leader=bidder.bidder_id)
    return close(s, now, log, bidder.bidder_id), {"accepted": True, "seq": seq, "price": price}
