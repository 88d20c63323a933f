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

Phases and their deadlines::

    scheduled --opens_at--> free (listing, auction) | limited (auction, no free time)
                            | sealed | dutch
    free      --free_ends_at--> inquiry (listing) | limited (auction)
    inquiry   --end--> limited (someone continued) | closed
    limited   --deadline, reset to bid time + countdown on every bid--> closed
    sealed    --free_ends_at, with the bids opened--> closed (highest wins, earlier bid
              wins a tie; it waits at the deadline until a Tick brings them opened)
    dutch     --first accept--> closed sold; --past the floor--> closed failed
    any price phase --a bid reaching the cap--> capped --deadline--> closed
                      (lottery among the acceptors, or a secondary round on `indicator`)
    any but closed --Suspend, or a deadline reached late--> suspended (clock frozen)
    suspended --Resume by host and supervisor--> the phase it left (限时 with a full
                      countdown, the others with the time they had left)
    any but closed --Terminate by host and supervisor--> closed (terminated)

The same decisions are made by the bid book's Lua script in Redis; the test suite holds
the two to identical entries and answers, and `openbid verify` replays logs through this.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from auction.commit import created_fields, lottery_index
from auction.config import LotConfig
from auction.errors import Conflict, NotFound, OpenBidError, Refused
from auction.state import (
    Accept,
    Bidder,
    Command,
    Continue,
    Deposit,
    Entry,
    EntryLog,
    LotState,
    PlaceBid,
    Register,
    Resume,
    Secrets,
    Suspend,
    Terminate,
    Tick,
)

__all__ = [
    "Step",
    "advance",
    "create",
    "dutch_price",
    "next_min",
    "sealed_refusal",
    "settle",
    "step",
]


@dataclass(frozen=True, slots=True)
class Step:
    state: LotState
    entries: list[Entry]
    answer: dict[str, Any]


def step(state: LotState, command: Command, now: int) -> Step:
    """Advance to `now`, then decide `command`. Never raises: what the clock did stays done,
    and an error outside the rules (unknown bidder, plate taken, deposit after the close)
    comes back as `{"accepted": False, "code": ...}` with no entry, like a refusal with none."""
    now = max(now, state.ts)  # the log's time never runs backwards, whatever the clock does
    log = EntryLog(state)
    state = advance(state, now, log, command if isinstance(command, Tick) else None)
    try:
        match command:
            case PlaceBid():
                state, answer = _bid(state, command, now, log)
            case Continue() | Accept():
                state, answer = _refusable(state, command, now, log)
            case Deposit():
                state, answer = _deposit(state, command, now, log)
            case Register():
                state, answer = _register(state, command, now, log)
            case Suspend():
                state, answer = _suspend_command(state, command, now, log)
            case Resume() | Terminate():
                state, answer = _two_person(state, command, now, log)
            case Tick():
                answer = {}
    except OpenBidError as error:
        answer = {"accepted": False, "code": error.code}
    return Step(log.stamp(state), log.entries, answer)


def create(
    config: LotConfig, secrets: Secrets, now: int, sealing_commitment: str | None = None
) -> Step:
    """A new lot in `scheduled`, with its public `created` entry (the commitments in it)."""
    state = LotState(config=config, secrets=secrets, deadline=config.opens_at)
    log = EntryLog(state)
    log.add(now, "created", True, **created_fields(config, secrets, sealing_commitment))
    return Step(log.stamp(state), log.entries, {"accepted": True, "seq": 1})


# ---- the clock ---------------------------------------------------------------------------


def advance(state: LotState, now: int, log: EntryLog, reveal: Tick | None = None) -> LotState:
    """Apply every deadline that has passed by `now`, each stamped at its own time. A
    deadline reached more than `late_grace_s` late (the store or the server was down or
    stalled) suspends the lot instead: nobody could bid, so nothing is decided. A sealed lot
    closes only with its bids opened (`reveal.opened`): until then it waits at its deadline,
    taking no bid."""
    while (due := state.deadline) is not None and now >= due:
        if state.phase != "scheduled" and now - due > state.config.late_grace_s * 1000:
            return _suspend(state, now, log, "platform", "platform")[0]  # nobody could bid
        if state.phase != "sealed":
            state = _expire(state, due, log)
        elif reveal is not None and reveal.opened is not None:
            state = _settle_sealed(state, due, log, reveal)
        else:
            break
    return state


def _expire(s: LotState, due: int, log: EntryLog) -> LotState:
    c = s.config
    if s.phase == "scheduled":
        return _open(s, due, log)
    if s.phase == "free" and c.mode == "listing":
        return _phase(s, "inquiry", due + c.inquiry_s * 1000, due, log)
    if s.phase == "free":
        return _phase(s, "limited", due + c.countdown_s * 1000, due, log)
    continued = sum(b.continued for b in s.bidders.values())
    if s.phase == "inquiry" and continued and continued >= c.min_continued:
        if s.leader is not None:  # the listing's leader is in the round without asking
            s = _with_bidder(s, s.bidders[s.leader], continued=True)
        return _phase(s, "limited", due + c.countdown_s * 1000, due, log)
    if s.phase == "capped" and c.after_cap == "lottery":
        return _draw(s, due, log)
    if s.phase == "dutch":
        return _close(s, due, log, None)
    return settle(s, due, log)  # inquiry with nobody continuing, limited, capped secondary


def _open(s: LotState, due: int, log: EntryLog) -> LotState:
    """Open at `due`; the configured times move on by what suspensions took (`shift`)."""
    c = s.config
    if c.mode == "sealed":
        return _phase(s, "sealed", c.free_ends_at + s.shift, due, log)
    if c.mode == "dutch":
        return _phase(s, "dutch", _dutch_end(s) + s.shift, due, log)
    if c.free_ends_at > c.opens_at:
        return _phase(s, "free", c.free_ends_at + s.shift, due, log)
    return _phase(s, "limited", due + c.countdown_s * 1000, due, log)


def _phase(s: LotState, phase: str, deadline: int, ts: int, log: EntryLog) -> LotState:
    log.add(ts, "phase", True, phase=phase, deadline=deadline)
    return replace(s, phase=phase, deadline=deadline)


def _dutch_end(s: LotState) -> int:
    c = s.config
    steps = -(-(c.start_price - c.dutch_floor) // c.dutch_step)
    return c.opens_at + (steps + 1) * c.dutch_tick_s * 1000


def dutch_price(c: LotConfig, now: int) -> int:
    """A dutch lot's price at `now`: one step down per tick, never under the floor."""
    ticks = max(0, now - c.opens_at) // (c.dutch_tick_s * 1000)
    return max(c.dutch_floor, c.start_price - ticks * c.dutch_step)


# ---- closing -----------------------------------------------------------------------------


def settle(s: LotState, due: int, log: EntryLog) -> LotState:
    """Close on the highest bid: sold unless there is none or it is under the reserve."""
    reserve = s.config.reserve
    if s.leader is None or (reserve is not None and s.price is not None and s.price < reserve):
        return _close(s, due, log, None)
    winner = s.indicator_leader or s.leader
    return _close(s, due, log, winner)


def _settle_sealed(s: LotState, due: int, log: EntryLog, reveal: Tick) -> LotState:
    """Open the sealed bids: the highest on the grid wins, the earlier of equal ones; a bid
    that did not open, or holds a price off the grid, is void. The `revealed` entry lists
    both and the key, so anyone can open every sealed bid of the log again."""
    opened, c = reveal.opened or {}, s.config
    boxes = sorted((b for b in s.bidders.values() if b.sealed_box), key=lambda b: b.sealed_seq or 0)
    valid, void = [], []
    for b in boxes:
        price = opened.get(b.bidder_id)
        fits = price is not None and price >= c.start_price
        if fits and price is not None and (price - c.start_price) % c.increment == 0:
            valid.append((price, b))
        else:
            void.append([b.plate, price, b.sealed_seq])
    valid.sort(key=lambda pb: (-pb[0], pb[1].sealed_seq or 0))
    rows = [[b.plate, price, b.sealed_seq] for price, b in valid]
    log.add(due, "revealed", True, rows=rows, void=void, key=reveal.key)
    if valid:
        s = replace(s, leader=valid[0][1].bidder_id, price=valid[0][0])
    return settle(s, due, log)


def _draw(s: LotState, due: int, log: EntryLog) -> LotState:
    pool = list(s.acceptors)
    winner = pool[lottery_index(s.secrets.lottery_seed, len(pool))]
    plates = [s.bidders[b].plate for b in pool]
    return _close(s, due, log, winner, lottery_plates=plates if len(pool) > 1 else None)


def _close(
    s: LotState,
    due: int,
    log: EntryLog,
    winner: str | None,
    lottery_plates: list[str] | None = None,
    terminated: Terminate | None = None,
) -> LotState:
    c, sold = s.config, winner is not None
    outcome = "terminated" if terminated else "sold" if sold else "failed"
    ended = {"by": terminated.by, "reason": terminated.reason} if terminated else {}
    log.add(
        due, "closed", True, **ended,
        outcome=outcome,
        price=s.price if sold else None,
        winner_plate=s.bidders[winner].plate if winner else None,
        indicator=s.indicator if s.indicator_leader else None,
        reserve=c.reserve,
        reserve_salt=s.secrets.reserve_salt if c.reserve is not None else None,
        lottery_seed=s.secrets.lottery_seed,
        lottery_plates=lottery_plates,
    )  # fmt: skip
    return replace(s, phase="closed", deadline=None, outcome=outcome, winner=winner, held=None)


# ---- suspension (中止), resumption and termination ----------------------------------------


def _suspend(s: LotState, now: int, log: EntryLog, by: str, reason: str) -> tuple[LotState, int]:
    """Freeze the lot where it stands: its phase and what its deadline had left."""
    left = None if s.deadline is None else max(0, s.deadline - now)
    seq = log.add(now, "suspended", True, phase=s.phase, left=left, by=by, reason=reason)
    return replace(s, phase="suspended", deadline=None, held=(s.phase, left, now)), seq


def _suspend_command(
    s: LotState, c: Suspend, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    if s.phase == "closed":
        raise Refused("PHASE_CLOSED")
    if s.phase == "suspended":
        raise Conflict("竞价已中止", "the lot is suspended already")
    s, seq = _suspend(s, now, log, c.by, c.reason)
    return s, {"accepted": True, "seq": seq}


def _two_person(
    s: LotState, c: Resume | Terminate, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    """Resume and terminate take two people: the first role's call is logged as asked, the
    other role's carries it out (the same role twice is a CONFLICT)."""
    action = "resume" if isinstance(c, Resume) else "terminate"
    if s.phase == "closed" or (action == "resume" and s.phase != "suspended"):
        raise Refused("PHASE_CLOSED")
    if s.pending is None or s.pending[0] != action:
        seq = log.add(now, "requested", False, action=action, by=c.by, reason=c.reason)
        return replace(s, pending=(action, c.by)), {"accepted": True, "seq": seq, "pending": action}
    if s.pending[1] == c.by:
        raise Conflict("须由另一方确认", "the other role must confirm")
    s = replace(s, pending=None)
    if isinstance(c, Terminate):
        s = _close(s, now, log, None, terminated=c)
        return s, {"accepted": True, "seq": log.seq}
    return _resume(s, c, now, log)


def _resume(s: LotState, c: Resume, now: int, log: EntryLog) -> tuple[LotState, dict[str, Any]]:
    """限时 gets a full countdown from now; any other phase gets back what it had left."""
    assert s.held is not None
    phase, left, since = s.held
    if phase == "limited":
        deadline: int | None = now + s.config.countdown_s * 1000
    else:
        deadline = None if left is None else now + left
    seq = log.add(now, "resumed", True, phase=phase, deadline=deadline, by=c.by, reason=c.reason)
    s = replace(s, phase=phase, deadline=deadline, held=None, shift=s.shift + now - since)
    return s, {"accepted": True, "seq": seq, "deadline": deadline}


# ---- commands ----------------------------------------------------------------------------


def _bidder(s: LotState, bidder_id: str) -> Bidder:
    bidder = s.bidders.get(bidder_id)
    if bidder is None:
        raise NotFound("bidder")
    return bidder


def _with_bidder(s: LotState, bidder: Bidder, **changes: Any) -> LotState:
    return replace(s, bidders={**s.bidders, bidder.bidder_id: replace(bidder, **changes)})


def _bid(s: LotState, cmd: PlaceBid, now: int, log: EntryLog) -> tuple[LotState, dict[str, Any]]:
    bidder = _bidder(s, cmd.bidder_id)
    key = f"{cmd.bidder_id}|{cmd.bid_id}"
    if key in s.answers:
        return s, s.answers[key]
    try:
        s, answer = _decide_bid(s, bidder, cmd, now, log)
    except Refused as refusal:
        seq = log.add(
            now, "refused", False, plate=bidder.plate, command="bid", code=refusal.code,
            bid_id=cmd.bid_id, price=cmd.price, indicator=cmd.indicator, sealed=cmd.sealed,
        )  # fmt: skip
        answer = {"accepted": False, "code": refusal.code, "seq": seq}
    return replace(s, answers={**s.answers, key: answer}), answer


def _decide_bid(
    s: LotState, bidder: Bidder, cmd: PlaceBid, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    if s.phase == "suspended":
        raise Refused("SUSPENDED")
    if s.phase == "capped" and s.config.after_cap == "secondary" and cmd.indicator is not None:
        return _indicator(s, bidder, cmd.bid_id, cmd.indicator, now, log)
    if s.phase == "capped" and cmd.price is not None:
        raise Refused("CAP_REACHED")
    given = cmd.sealed if s.phase == "sealed" else cmd.price  # a sealed lot takes sealed bids
    if s.phase not in ("free", "limited", "sealed") or given is None:
        raise Refused("PHASE_CLOSED")
    if s.phase == "sealed" and s.deadline is not None and now >= s.deadline:
        raise Refused("PHASE_CLOSED")  # past it, waiting to be opened
    if not bidder.qualified:
        raise Refused("NOT_QUALIFIED")
    if cmd.sealed is not None:
        return _sealed(s, bidder, cmd.bid_id, cmd.sealed, now, log)
    assert cmd.price is not None
    if s.phase == "limited" and s.config.mode == "listing" and not bidder.continued:
        raise Refused("NOT_QUALIFIED")  # the 限时 round is for those who continued
    return _price(s, bidder, cmd.bid_id, cmd.price, now, log)


def _check_grid(base: int, price: int, increment: int, first: bool) -> None:
    # Under the standing price (or the start) is plainly too low; above it, the grid decides.
    if price < base:
        raise Refused("TOO_LOW")
    if (price - base) % increment:
        raise Refused("OFF_INCREMENT")
    if not first and price == base:
        raise Refused("TOO_LOW")


def next_min(c: LotConfig, phase: str, price: int | None, now: int) -> int | None:
    """The lowest price the lot would accept next, or None where no price bid is taken."""
    if phase == "dutch":
        return dutch_price(c, now)
    if phase in ("scheduled", "free", "inquiry", "limited") and price is not None:
        return price + c.increment
    if phase in ("scheduled", "free", "inquiry", "limited", "sealed"):
        return c.start_price
    return None


def _price(
    s: LotState, bidder: Bidder, bid_id: str, price: int, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    c = s.config
    capped = c.cap is not None and price >= c.cap
    if capped and c.cap is not None:
        price = c.cap
    else:
        base = c.start_price if s.price is None else s.price
        _check_grid(base, price, c.increment, s.price is None)
    deadline = now + c.countdown_s * 1000 if s.phase == "limited" else s.deadline
    if s.phase == "free" and not bidder.quoted:  # for the listing's entry rule
        s = _with_bidder(s, bidder, quoted=True)
    s = replace(s, price=price, leader=bidder.bidder_id, deadline=deadline)
    seq = log.add(
        now, "bid", True, plate=bidder.plate, bid_id=bid_id, price=price, phase=s.phase,
        deadline=deadline,
    )  # fmt: skip
    if capped:
        s = replace(s, acceptors=(bidder.bidder_id,))
        s = _phase(s, "capped", now + c.countdown_s * 1000, now, log)
    return s, {"accepted": True, "seq": seq, "price": price, "deadline": s.deadline}


def _sealed(
    s: LotState, bidder: Bidder, bid_id: str, sealed: str, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    """One sealed bid a bidder; its price is checked against the grid when it is opened."""
    if bidder.sealed_box is not None:
        raise Refused("ALREADY_SUBMITTED")
    seq = log.add(
        now, "bid", False, plate=bidder.plate, bid_id=bid_id, sealed=sealed, phase="sealed",
        deadline=s.deadline,
    )  # fmt: skip
    s = _with_bidder(s, bidder, sealed_box=sealed, sealed_seq=seq)
    return s, {"accepted": True, "seq": seq, "deadline": s.deadline}


def sealed_refusal(c: LotConfig, price: int) -> str | None:
    """Why a sealed price would be void at the opening (TOO_LOW, OFF_INCREMENT), or None:
    the server refuses such a bid before sealing it, unlogged (its price is the secret)."""
    try:
        _check_grid(c.start_price, price, c.increment, True)
    except Refused as refusal:
        return refusal.code
    return None


def _indicator(
    s: LotState, bidder: Bidder, bid_id: str, value: int, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    if not bidder.qualified:
        raise Refused("NOT_QUALIFIED")
    _check_grid(s.indicator, value, s.config.secondary_increment, False)
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
    bidder = _bidder(s, cmd.bidder_id)
    name = "continue" if isinstance(cmd, Continue) else "accept"
    try:
        if s.phase == "suspended":
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
    if s.phase != "inquiry":
        raise Refused("PHASE_CLOSED")
    if not bidder.qualified or (s.config.entry_rule == "quoted" and not bidder.quoted):
        raise Refused("NOT_QUALIFIED")
    if bidder.continued:
        raise Refused("ALREADY_SUBMITTED")
    seq = log.add(now, "continue", False, plate=bidder.plate)
    return _with_bidder(s, bidder, continued=True), {"accepted": True, "seq": seq}


def _accept(
    s: LotState, bidder: Bidder, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    lottery = s.phase == "capped" and s.config.after_cap == "lottery"
    if s.phase != "dutch" and not lottery:
        raise Refused("PHASE_CLOSED")
    if not bidder.qualified:
        raise Refused("NOT_QUALIFIED")
    if lottery:
        if bidder.bidder_id in s.acceptors:
            raise Refused("ALREADY_SUBMITTED")
        seq = log.add(now, "accept", False, plate=bidder.plate, price=s.price)
        s = replace(s, acceptors=(*s.acceptors, bidder.bidder_id))
        return s, {"accepted": True, "seq": seq, "price": s.price}
    price = dutch_price(s.config, now - s.shift)  # the clock the price falls by stood still
    seq = log.add(now, "accept", False, plate=bidder.plate, price=price)
    s = replace(s, price=price, leader=bidder.bidder_id)
    return _close(s, now, log, bidder.bidder_id), {"accepted": True, "seq": seq, "price": price}


def _deposit(s: LotState, cmd: Deposit, now: int, log: EntryLog) -> tuple[LotState, dict[str, Any]]:
    bidder = _bidder(s, cmd.bidder_id)
    first = s.refs.get(cmd.ref)
    if first is not None:  # a bank's retry gets its first answer; another bidder's ref is not
        same = first["bidder_id"] == cmd.bidder_id  # this one's (review L5)
        return s, first["answer"] if same else {"accepted": False, "code": "CONFLICT"}
    if s.phase == "closed":
        raise Refused("PHASE_CLOSED")
    total = bidder.deposit + cmd.amount
    qualified = total >= s.config.deposit
    seq = log.add(
        now, "deposit", False, plate=bidder.plate, amount=cmd.amount, deposit_kind=cmd.kind,
        ref=cmd.ref, total=total, qualified=qualified,
    )  # fmt: skip
    answer = {"accepted": True, "seq": seq, "total": total, "qualified": qualified}
    s = _with_bidder(s, bidder, deposit=total, qualified=qualified)
    return replace(
        s, refs={**s.refs, cmd.ref: {"bidder_id": bidder.bidder_id, "answer": answer}}
    ), answer


def _register(
    s: LotState, cmd: Register, now: int, log: EntryLog
) -> tuple[LotState, dict[str, Any]]:
    if s.phase == "closed":
        raise Refused("PHASE_CLOSED")
    if cmd.bidder_id in s.bidders or cmd.plate in s.plates:
        raise Conflict("号牌或竞买人已存在", "plate or bidder already registered")
    qualified = s.config.deposit == 0
    seq = log.add(now, "registered", False, bidder_id=cmd.bidder_id, plate=cmd.plate, name=cmd.name)
    bidder = Bidder(bidder_id=cmd.bidder_id, plate=cmd.plate, name=cmd.name, qualified=qualified)
    s = replace(
        s,
        bidders={**s.bidders, cmd.bidder_id: bidder},
        plates={**s.plates, cmd.plate: cmd.bidder_id},
    )
    return s, {"accepted": True, "seq": seq, "plate": cmd.plate}
