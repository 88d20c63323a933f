"""The Lua bid book and the Python rules, fed the same random commands and clock steps,
must write the same entries and give the same answers, to the last field.

Each example is one lot and one plan drawn from a seeded `random.Random` (Hypothesis
supplies and reports the seed): plans built from distributions chosen to reach every phase,
which Hypothesis's own minimal-first search does not do for sequences this long.
"""

from __future__ import annotations

import random
import secrets
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auction.log import Tick
from auction.lot import rules
from auction.lot.commit import created_fields
from auction.lot.config import LotConfig
from auction.lot.state import (
    Accept,
    Command,
    Continue,
    CreditCheck,
    Deposit,
    Draw,
    LotState,
    PlaceBid,
    Register,
    Resume,
    Secrets,
    Suspend,
    Terminate,
    Unmask,
)
from auction.money.guarantee import ConfirmGuarantee, FileGuarantee, RevokeGuarantee
from auction.money.settlement import Contract, Default, Refunded
from server.store.lots import LotBook

START, STEP, DEPOSIT = 10_000, 100, 500
BIDDERS = ["b1", "b2", "b3"]  # registered first; b4 and b5 may come later
NAMES = {PlaceBid: "bid", Continue: "continue", Accept: "accept", Deposit: "deposit", Tick: "tick",
         Suspend: "suspend", Resume: "resume", Terminate: "terminate", Draw: "draw",
         Unmask: "unmask", CreditCheck: "credit_check", FileGuarantee: "guarantee",
         ConfirmGuarantee: "guarantee_confirm", RevokeGuarantee: "guarantee_revoke",
         Contract: "contract", Default: "default", Refunded: "refunded"}  # fmt: skip


QUANTITY = 40  # a lot sold by quantity (auction/lot/shares.py), of whole 吨


def draw_config(rng: random.Random) -> LotConfig:
    mode = rng.choice(["auction", "auction", "listing", "listing", "sealed", "dutch", "shares"])
    if mode == "shares":
        return _shares(rng)
    shape: dict[str, Any] = {
        "mode": mode, "countdown_s": rng.choice([1, 2, 3]), "inquiry_s": rng.choice([1, 2]),
        "opens_at": rng.choice([0, 300]), "free_ends_at": rng.choice([600, 2_000, 6_000]),
        "reserve": rng.choice([None, None, START, START + 5 * STEP]),
    }  # fmt: skip
    if mode == "listing":
        shape["entry_rule"] = rng.choice(["any_qualified", "quoted"])
        shape["min_continued"] = rng.choice([1, 1, 2])
    if mode in ("auction", "listing"):
        shape["cap"] = rng.choice([None, START + 5 * STEP, START + 6 * STEP, START + 8 * STEP])
        shape["after_cap"] = rng.choice(["lottery", "secondary"])
        shape["after_cap_s"] = rng.choice([None, 1, 2])
    if mode == "auction" and rng.random() < 0.3:
        shape["free_ends_at"] = shape["opens_at"]  # straight into 限时
    for name in ("apply_ends_at", "deposit_ends_at"):  # R3, else free_ends_at
        shape[name] = rng.choice([None, None, 0, 400, shape["free_ends_at"]])
        if shape[name] is not None:
            shape[name] = min(shape[name], shape["free_ends_at"])
    if mode == "dutch":
        shape |= {"dutch_step": 300, "dutch_tick_s": 1, "dutch_floor": 9_000, "reserve": None}
    return LotConfig.parse({
        "title": "diff", "category": "other", "quote_unit": "元", "start_price": START,
        "increment": STEP, "deposit": DEPOSIT, "secondary_increment": 2,
    } | shape)  # fmt: skip


def _shares(rng: random.Random) -> LotConfig:
    return LotConfig.parse({
        "title": "diff", "category": "emission", "mode": "auction", "quote_unit": "元/吨",
        "start_price": START, "increment": STEP, "deposit": DEPOSIT, "quantity": QUANTITY,
        "quantity_unit": "吨", "min_quantity": rng.choice([None, 5]),
        "quantity_step": rng.choice([None, 5]), "countdown_s": rng.choice([1, 2]),
        "opens_at": 0, "free_ends_at": rng.choice([0, 2_000, 6_000]),
        "reserve": rng.choice([None, START + 2 * STEP]),
    })  # fmt: skip


def draw_command(rng: random.Random, state: LotState) -> Command:
    """One command, placed relative to the lot as it stands (bids near the next price)."""
    who = rng.choice([*BIDDERS, *BIDDERS[:2], "b4", "nobody"])
    kind = rng.choices(
        ["bid", "indicator", "continue", "accept", "deposit", "tick", "staff", "register", "draw",
         "credit", "guarantee", "settle"],
        [10, 2, 2, 8 if state.phase == "capped" else 2, 1, 1, 1, 1, 1, 1, 2,
         8 if state.phase == "closed" else 1],
    )[0]  # fmt: skip
    if kind == "settle":  # after the close: the contract, a default, the bank's refunds
        actor = rng.choice([None, "host-0"])
        said = rng.choice([Contract, Default, Refunded, Refunded, Refunded])
        if said is Contract:
            return Contract(actor=actor)
        if said is Default:
            return Default(by=rng.choice(["host", "supervisor"]), reason="违约", actor=actor)
        seqs = [*state.paid, *(g.seq for g in state.guarantees.values()), 1]
        return Refunded(seq=rng.choice(seqs), status=rng.choice(["sent", "done"]), actor=actor)
    if kind == "guarantee":  # filed near the rules' bounds, confirmed or revoked by number
        number, actor = f"h:g{rng.randrange(4)}", rng.choice([None, "iss-1"])
        said = rng.choice([FileGuarantee, FileGuarantee, ConfirmGuarantee, RevokeGuarantee])
        if said is not FileGuarantee:
            return cast(Command, said(number=number, actor=actor))
        return FileGuarantee(
            bidder_id=who, number=number, issuer="某银行", actor=actor,
            amount=rng.choice([DEPOSIT - 1, DEPOSIT, 2 * DEPOSIT]),
            valid_until=rng.choice(["1970-01-30", "1970-01-31", "2027-06-30"]),  # 30 days on
        )  # fmt: skip
    if kind == "credit":  # a party checked at registration, or before a bidder's deposit
        listing = rng.choice([None, {"source": "法院", "from": "2026-01-01",
                                     "until": rng.choice([None, "2026-12-31"])}])  # fmt: skip
        at = rng.choice(["register", "deposit"])
        return CreditCheck(party="h:" + "ab" * 24, at=at, listing=listing,
                           bidder_id=who if at == "deposit" else None)  # fmt: skip
    if kind == "draw" or (state.awaiting_draw and rng.random() < 0.3):  # of a pool or too
        share = f"{rng.randrange(256):02x}" * 32
        return Draw(by="supervisor", share=share, actor=rng.choice([None, "s0b1"]))  # early (R8)
    if kind == "register":  # latecomers, and now and then one already there
        late = rng.choice(["b4", "b5", "b1"])
        actor = rng.choice([None, "host-0"])
        key = rng.choice([None, "-----BEGIN PUBLIC KEY-----"])  # logged as given
        return Register(bidder_id=late, plate=f"1{late[1:]}", name=late.upper(), actor=actor,
                        public_key=key)  # fmt: skip
    if kind == "staff":  # 中止, resume and terminate by either role, now and then
        staff = rng.choices([Suspend, Resume, Terminate, Unmask], [3, 4, 1, 1])[0]
        actor = rng.choice([None, "host-0", "s01a"])  # the person the log names
        by = "supervisor" if staff is Unmask else rng.choice(["host", "supervisor"])
        return cast(Command, staff(by=by, reason="原因", actor=actor))
    bid_id, sig = f"x{rng.randrange(80)}", rng.choice([None, None, "c2lnbmVk"])
    if kind == "bid":
        base = state.price if state.price is not None else START - STEP
        offset = rng.choice([1, 1, 1, 2, 3, 0, -1, 0.5, 9])
        price = int(base + offset * STEP)
        if state.config.cap is not None and rng.random() < 0.1:  # straight to the cap
            price = state.config.cap + rng.choice([0, STEP])
        if state.config.mode == "sealed" and rng.random() < 0.8:  # as the server seals them
            return PlaceBid(bidder_id=who, bid_id=bid_id, sealed=f"box:{price}", sig=sig)
        if state.config.quantity is not None or rng.random() < 0.05:  # now and then misplaced
            own = state.bidders.get(who)  # around its own standing price, or the start
            if own is not None and own.standing is not None and rng.random() < 0.7:
                price = own.standing[0] + rng.choice([1, 1, 2, 0, -1]) * STEP
            quantity = rng.choice([None, 1, 5, 7, 10, 15, 25, QUANTITY, QUANTITY + 5])
            return PlaceBid(bidder_id=who, bid_id=bid_id, price=price, quantity=quantity, sig=sig)
        return PlaceBid(bidder_id=who, bid_id=bid_id, price=price, sig=sig)
    if kind == "indicator":
        indicator = state.indicator + rng.randint(1, 5)
        return PlaceBid(bidder_id=who, bid_id=bid_id, indicator=indicator, sig=sig)
    if kind == "deposit":
        amount = rng.choice([200, 300, 500])
        payer = rng.choice([None, "h:payer-1", "h:payer-2"])  # the bank's, blinded
        return Deposit(bidder_id=who, amount=amount, kind="cash", ref=f"r{rng.randrange(6)}",
                       payer=payer)  # fmt: skip
    if kind == "continue":
        return Continue(bidder_id=who, sig=sig)
    if kind == "accept":
        return Accept(bidder_id=who, sig=sig)
    return (
        opened_bids(state, rng) if state.config.mode == "sealed" and rng.random() < 0.5 else Tick()
    )


def opened_bids(state: LotState, rng: random.Random | None = None) -> Tick:
    """A sealed lot's bids opened, as the server opens them; with `rng`, some fail to."""
    opened = {
        b.bidder_id: int(b.sealed_box.removeprefix("box:"))
        for b in state.bidders.values()
        if b.sealed_box and (rng is None or rng.random() < 0.8)
    }
    return Tick(opened=opened, key="5e" * 32)


def draw_step(rng: random.Random) -> int:
    """Mostly small clock steps, so plans play inside the phases; now and then a leap, and
    rarely an outage longer than the grace for a late deadline."""
    if rng.random() < 0.02:
        return rng.randint(5_000, 12_000)
    return rng.randint(0, 4_000) if rng.random() < 0.08 else rng.randint(0, 250)


def _args(command: Command) -> dict[str, Any]:
    fields = {k: getattr(command, k) for k in getattr(command, "__dataclass_fields__", {})}
    return {k: v for k, v in fields.items() if v is not None}


async def _created(book: LotBook, rng: random.Random, seed: int) -> tuple[str, LotState]:
    config = draw_config(rng)
    hidden = Secrets(reserve_salt=secrets.token_hex(4), lottery_seed=secrets.token_hex(16))
    lot_id = f"diff-{seed}-{secrets.token_hex(4)}"
    model = rules.create(config, hidden, 0)
    made = await book.create(
        lot_id, config, hidden, created_fields(config, hidden), manual_clock=True, now=0
    )
    assert made.entries == model.entries
    return lot_id, model.state


def _opening(rng: random.Random) -> list[Command]:
    """Everyone registers; b1 and b2 pay in full, b3 only if the plan's deposits say so,
    or half the time by a guarantee (h:g0) that a later revocation may take away."""
    made: list[Command] = [
        Register(bidder_id=name, plate=str(100 + i), name=name.upper())
        for i, name in enumerate(BIDDERS)
    ]
    made += [Deposit(bidder_id=b, amount=DEPOSIT, kind="cash", ref=b) for b in BIDDERS[:2]]
    if rng.random() < 0.5:
        made += [
            FileGuarantee(bidder_id="b3", number="h:g0", issuer="某银行", amount=DEPOSIT,
                          valid_until="2027-06-30"),
            ConfirmGuarantee(number="h:g0"),
        ]  # fmt: skip
    return made


def _wire(command: Command) -> tuple[str, dict[str, Any]]:
    name = "register" if isinstance(command, Register) else NAMES[type(command)]
    return name, _args(command) | (
        {"token_hash": cast(Register, command).bidder_id} if name == "register" else {}
    )


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
async def test_batches_decide_as_if_sent_one_by_one(book: LotBook, seed: int) -> None:
    """Commands batched into one script call get the answers and entries they would get
    one after the other at the same time."""
    rng = random.Random(seed)
    lot_id, state = await _created(book, rng, seed)
    now = 0
    pending = _opening(rng)
    while pending or rng.random() < 0.97:
        batch = pending or [draw_command(rng, state) for _ in range(rng.randint(1, 12))]
        pending, now = [], now + draw_step(rng)
        expected_entries, expected_answers = [], []
        for command in batch:  # the model sees each command against the state before it
            step = rules.step(state, command, now)
            state = step.state
            expected_entries += step.entries
            expected_answers.append(step.answer)
        got = await book.decide(lot_id, [_wire(c) for c in batch], now=now)
        assert got.answers == expected_answers, (batch, now)
        assert got.entries == expected_entries, (batch, now)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
async def test_lua_and_python_decide_alike(book: LotBook, seed: int) -> None:
    rng = random.Random(seed)
    lot_id, state = await _created(book, rng, seed)
    now, opening = 0, _opening(rng)
    for i in range(len(opening) + rng.randint(10, 80)):
        command = opening[i] if i < len(opening) else draw_command(rng, state)
        now += 0 if i < len(opening) else draw_step(rng)
        expected = rules.step(state, command, now)
        got = await book.command(lot_id, *_wire(command), now=now)
        assert got.entries == expected.entries, (command, now)
        assert got.answer == expected.answer, (command, now)
        state = expected.state
    for _ in range(12):  # the rest on time: each deadline ticked as it comes, a pool drawn
        if state.deadline is None and not state.awaiting_draw:
            break
        now = state.deadline or now + 1000
        last: Command = opened_bids(state) if state.config.mode == "sealed" else Tick()
        if state.awaiting_draw:
            last = Draw(by="supervisor", share="5e" * 32)
        final = rules.step(state, last, now)
        got = await book.command(lot_id, *_wire(last), now=now)
        assert got.entries == final.entries
        assert got.state["phase"] == final.state.phase
        state = final.state
    assert state.phase in ("closed", "suspended")
