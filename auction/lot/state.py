"""The lot's state and the commands that act on it: frozen values, built only valid.

A `LotState` is everything the rules need to decide the next command; nothing in it is
derived from the clock. Commands are what a bidder or the bank callback asks; `Tick` asks
nothing and only lets time move the lot on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from auction.checks import MAX_ID, build, check_text
from auction.errors import BadMessage
from auction.log import Entry, EntryLog, Tick
from auction.lot.config import LotConfig
from auction.money.guarantee import ConfirmGuarantee, Filed, FileGuarantee, RevokeGuarantee
from auction.money.settlement import Contract, Default, Refunded
from auction.parties.check import CreditCheck

__all__ = [
    "COMMANDS",
    "NAMES",
    "STAFF_ROLES",
    "Accept",
    "Bidder",
    "Command",
    "Continue",
    "CreditCheck",
    "Deposit",
    "Draw",
    "Entry",
    "EntryLog",
    "LotPhase",
    "LotState",
    "PlaceBid",
    "Register",
    "Resume",
    "Secrets",
    "StaffAction",
    "Suspend",
    "Terminate",
    "Tick",
    "check_text",
    "parse",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Secrets:
    """What stays hidden until the close: the reserve's salt and the lottery seed (hex)."""

    reserve_salt: str
    lottery_seed: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Bidder:
    bidder_id: str
    plate: str
    name: str
    deposit: int = 0
    qualified: bool = False
    continued: bool = False
    quoted: bool = False  # quoted during a listing's free phase (for entry_rule "quoted")
    sealed_box: str | None = None  # its sealed bid, opened only at the close (lot/sealing.py)
    sealed_seq: int | None = None
    listed: bool = False  # on the blacklist at its last credit check (auction/parties/check.py)
    # in a lot sold by quantity: its standing bid (unit price, quantity, seq); a newer bid
    # replaces it (auction/lot/shares.py)
    standing: tuple[int, int, int] | None = None
    guaranteed: bool = False  # a guarantee its issuer confirmed, not revoked (电子保函)


class LotPhase(StrEnum):
    """A lot's phase; in the log, on the wire and in lot.lua, its value."""

    SCHEDULED = "scheduled"  # before opens_at: deposits and registration
    FREE = "free"  # 自由报价 (挂牌's listing period, 拍卖's open bidding)
    INQUIRY = "inquiry"  # 挂牌: who continues into 限时竞价
    LIMITED = "limited"  # 限时竞价: the countdown every bid restarts
    CAPPED = "capped"  # the price cap reached: the after-cap procedure
    DUTCH = "dutch"  # 荷兰式: the price falls until someone accepts
    SEALED = "sealed"  # 一次报价: sealed bids until the deadline
    SUSPENDED = "suspended"  # 中止: by staff or an outage
    CLOSED = "closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class LotState:
    config: LotConfig
    secrets: Secrets
    phase: LotPhase = LotPhase.SCHEDULED
    deadline: int | None = None
    seq: int = 0
    pseq: int = 0  # the public entries' own count (EntryLog)
    ts: int = 0
    price: int | None = None
    leader: str | None = None
    indicator: int = 0
    indicator_leader: str | None = None
    acceptors: tuple[str, ...] = ()
    outcome: str | None = None
    winner: str | None = None
    bidders: Mapping[str, Bidder] = field(default_factory=dict)
    plates: Mapping[str, str] = field(default_factory=dict)
    answers: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    refs: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # ref: bidder_id, answer
    # suspended: the phase, the ms its deadline had left, and when
    held: tuple[LotPhase, int | None, int] | None = None
    shift: int = 0  # ms suspensions took: the configured times (opening, dutch clock) move on
    pending: tuple[str, str] | None = None  # a two-person action asked: (action, by)
    # registration and deposit deadlines: the config's (set at creation), moved on by
    # suspensions that began before them
    apply_by: int = 0
    deposit_by: int = 0
    guarantees: Mapping[str, Filed] = field(default_factory=dict)  # by number (blinded)
    # money after the close (auction/lot/settlement.py): each deposit entry's seq and whose,
    # the winners (bidder ids), "contract" or "default" once recorded, refunds reported
    paid: Mapping[int, str] = field(default_factory=dict)
    winners: tuple[str, ...] = ()
    settled: str | None = None
    refunded: Mapping[int, str] = field(default_factory=dict)

    @property
    def awaiting_draw(self) -> bool:
        """A capped lottery lot whose acceptance window closed on two or more acceptors: it
        has no deadline and waits for the supervisor's `Draw`."""
        return (
            self.phase == LotPhase.CAPPED
            and self.deadline is None
            and self.config.after_cap == "lottery"
        )

    def window_open(self, by: int, now: int) -> bool:
        """Whether `now` is not past deadline `by` (a 截止时间 includes its own moment); a
        suspension that began before it keeps it open (its clock stands still, and the
        resume moves it on)."""
        return (self.held is not None and self.held[2] <= by) or now <= by


def _check_id(name: str, value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID:
        raise BadMessage(name, f"须为 1 到 {MAX_ID} 个字符", f"must be 1 to {MAX_ID} characters")
    return value


def _check_int(name: str, value: object, low: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 2**53:
        raise BadMessage(name, "须为正整数", "must be a positive integer")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Register:
    bidder_id: str
    plate: str
    name: str
    actor: str | None = None  # the staff member who registered the bidder
    public_key: str | None = None  # PEM: what its signatures are checked with

    def __post_init__(self) -> None:
        _check_id("bidder_id", self.bidder_id)
        _check_id("plate", self.plate)
        check_text("name", self.name, 200)
        _actor(self.actor)
        if self.public_key is not None and not 0 < len(str(self.public_key)) <= MAX_KEY:
            raise BadMessage("public_key", "须为 PEM 格式的公钥", "must be a public key in PEM")


@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit:
    bidder_id: str
    amount: int
    kind: str
    ref: str
    actor: str | None = None  # the bank (or the host) that reported it
    # the account it came from, blinded as names are (auction/lot/blinding.py): where its
    # refund goes back to (原路退还, auction/money/refunds.py); None when the host types it
    payer: str | None = None

    def __post_init__(self) -> None:
        _actor(self.actor)
        _check_id("bidder_id", self.bidder_id)
        _check_int("amount", self.amount)
        if self.kind not in ("cash", "guarantee"):
            raise BadMessage("kind", "须为 cash 或 guarantee", "must be cash or guarantee")
        _check_id("ref", self.ref)
        if self.payer is not None:
            _check_id("payer", self.payer)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceBid:
    """A price bid, in a capped lot's secondary round an `indicator` bid, or in a sealed lot
    a `sealed` one (its price sealed by auction/lot/sealing.py before it reaches the rules).
    In a lot sold by quantity, the price is a unit price and `quantity` how much it asks."""

    bidder_id: str
    bid_id: str
    price: int | None = None
    indicator: int | None = None
    sealed: str | None = None
    sig: str | None = None  # its bidder's signature (auction/signatures.py), checked before
    quantity: int | None = None

    def __post_init__(self) -> None:
        _check_id("bidder_id", self.bidder_id)
        _check_id("bid_id", self.bid_id)
        _check_sig(self.sig)
        if sum(v is not None for v in (self.price, self.indicator, self.sealed)) != 1:
            raise BadMessage("price", "须给出 price 或 indicator 之一", "give price or indicator")
        if self.sealed is not None and not 0 < len(str(self.sealed)) <= 256:
            raise BadMessage("sealed", "须为密封报价", "must be a sealed bid")
        if self.price is not None:
            _check_int("price", self.price)
        if self.indicator is not None:
            _check_int("indicator", self.indicator)
        if self.quantity is not None:
            _check_int("quantity", self.quantity)
            if self.price is None:
                raise BadMessage("quantity", "须与 price 同时给出", "goes with a price")


@dataclass(frozen=True, slots=True, kw_only=True)
class Continue:
    """In a listing's inquiry: this bidder wants the 限时竞价 round."""

    bidder_id: str
    sig: str | None = None

    def __post_init__(self) -> None:
        _check_sig(self.sig)


@dataclass(frozen=True, slots=True, kw_only=True)
class Accept:
    """In a dutch lot: take the current price. In a capped lottery lot: join the draw."""

    bidder_id: str
    sig: str | None = None

    def __post_init__(self) -> None:
        _check_sig(self.sig)


STAFF_ROLES = ("host", "supervisor")


@dataclass(frozen=True, slots=True, kw_only=True)
class StaffAction:
    """What a staff role does to a lot, and why (the reason goes into the public log)."""

    by: str
    reason: str
    actor: str | None = None  # the person (staff id) the log names; None for the platform

    def __post_init__(self) -> None:
        _staff(self.by, self.reason)
        _actor(self.actor)


@dataclass(frozen=True, slots=True, kw_only=True)
class Suspend(StaffAction):
    """中止: the host or the supervisor stops the lot's clock and its bidding at once."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume(StaffAction):
    """Resume a suspended lot: asked by one staff role, done when the other asks too."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Terminate(StaffAction):
    """终止: close the lot with outcome `terminated`, by the same two-person rule."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unmask(StaffAction):
    """Break-glass (review R9, RULES §5.5): the supervisor sees the names behind the plates
    and the reserve before the close, with a reason the public log keeps (not what was
    seen). The host may not: the operators are who the secrecy is from."""

    def __post_init__(self) -> None:
        StaffAction.__post_init__(self)
        if self.by != "supervisor":
            raise BadMessage("by", "须为 supervisor", "must be supervisor")


@dataclass(frozen=True, slots=True, kw_only=True)
class Draw:
    """摇号: the supervisor draws a capped lot's lottery once its pool is logged, giving
    `share`, 32 random bytes of their own (64 lowercase hex digits); `commit.lottery_index`
    mixes it with the committed seed and the pool (review R8)."""

    by: str
    share: str
    actor: str | None = None

    def __post_init__(self) -> None:
        _actor(self.actor)
        if self.by != "supervisor":
            raise BadMessage("by", "须为 supervisor", "must be supervisor")
        if not isinstance(self.share, str) or not _SHARE.fullmatch(self.share):
            raise BadMessage("share", "须为 64 位小写十六进制数", "must be 64 lowercase hex digits")


_SHARE = re.compile("[0-9a-f]{64}")


MAX_KEY = 4096  # characters of a PEM public key
MAX_SIG = 200  # base64 characters of a signature


def _check_sig(sig: object) -> None:
    if sig is not None and (not isinstance(sig, str) or not 0 < len(sig) <= MAX_SIG):
        raise BadMessage("sig", "须为 base64 签名", "must be a base64 signature")


def _actor(actor: object) -> None:
    if actor is not None:
        _check_id("actor", actor)


def _staff(by: str, reason: str) -> None:
    if by not in STAFF_ROLES:
        raise BadMessage("by", "须为 host 或 supervisor", "must be host or supervisor")
    check_text("reason", reason, 500, lines=True)


Command = (
    Register
    | Deposit
    | PlaceBid
    | Continue
    | Accept
    | Tick
    | Suspend
    | Resume
    | Terminate
    | Draw
    | Unmask
    | CreditCheck
    | FileGuarantee
    | ConfirmGuarantee
    | RevokeGuarantee
    | Contract
    | Default
    | Refunded
)

# every command by its name on the wire and to the Lua: the one table of them
COMMANDS: dict[str, type[Command]] = {
    "register": Register, "deposit": Deposit, "bid": PlaceBid, "continue": Continue,
    "accept": Accept, "tick": Tick, "suspend": Suspend, "resume": Resume,
    "terminate": Terminate, "draw": Draw, "unmask": Unmask, "credit_check": CreditCheck,
    "guarantee": FileGuarantee, "guarantee_confirm": ConfirmGuarantee,
    "guarantee_revoke": RevokeGuarantee, "contract": Contract, "default": Default,
    "refunded": Refunded,
}  # fmt: skip
NAMES: dict[type[Command], str] = {kind: name for name, kind in COMMANDS.items()}


def parse(name: str, fields: Mapping[str, Any]) -> Command:
    """The command `name`, its fields taken from `fields` (see `auction.checks.build`)."""
    kind = COMMANDS.get(name)
    if kind is None:
        raise BadMessage("type", "未知的消息类型", "unknown message type")
    return build(kind, fields)
