"""A remote bid opening's config, state and commands: frozen values, built only valid.

`OpeningConfig.parse(raw)` is the only way in for a client's config. The commands are what
bidders and the host ask of `auction.opening.rules.step`; a `Decrypt` or `Backup` carries what the
server found when it opened the envelope with the handed-over key (`auction.opening.envelope`), so
the rules stay pure and `openbid verify` can re-open every envelope to check it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from auction.checks import MAX_ID, build
from auction.errors import BadMessage, NotFound
from auction.log import Tick
from auction.opening.config import MAX_KEY, OpeningConfig
from auction.opening.config import check_sig as _sig
from auction.opening.config import text as _text
from auction.opening.config import whole as _whole
from auction.parties.check import CreditCheck

__all__ = [
    "COMMANDS",
    "NAMES",
    "PHASES",
    "Advance",
    "Backup",
    "Confirm",
    "Cosign",
    "CreditCheck",
    "Decrypt",
    "Fault",
    "Object",
    "OpeningCommand",
    "OpeningPhase",
    "OpeningState",
    "Pause",
    "RegisterTenderer",
    "Reopen",
    "Reply",
    "SignIn",
    "Submit",
    "TenderDeposit",
    "Tenderer",
    "Tick",
    "Unpause",
    "in_plate_order",
    "parse",
    "state_from_map",
    "state_to_map",
    "tenderer_by_plate",
    "tenderer_of",
    "with_tenderer",
]


class OpeningPhase(StrEnum):
    """An opening's phase; in the log and on the wire, its value."""

    SCHEDULED = "scheduled"  # envelopes accepted until bid_deadline; sign-in may open before it
    SIGN_IN = "sign_in"  # 签到, after the deadline: no more envelopes
    ABORTED = "aborted"  # fewer than min_bidders: do not open, re-tender (条例 第44条)
    BIDDERS_PUBLISHED = "bidders_published"  # 公布投标人
    DECRYPTION = "decryption"  # 解密, a window the host may pause
    READ_OUT = "read_out"  # 唱标
    CONFIRMATION = "confirmation"  # 开标记录表 issued; bidders confirm or object, the host replies
    ENDED = "ended"  # 开标结束; the host may reopen (复会) into confirmation


PHASES = tuple(OpeningPhase)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenderer:
    """One bidder (投标人) of an opening, under a per-opening plate until names are published."""

    bidder_id: str
    plate: str
    name: str
    envelope: str | None = None  # the digest of its latest envelope
    commitment: str | None = None
    signed_in: int | None = None  # server time of 签到
    status: str = "pending"  # pending | decrypted | failed
    side: str | None = None  # whose fault a failure is: "bidder" (撤销) or "platform" (撤回)
    bid: Mapping[str, Any] | None = None  # the opened bid, once decrypted
    confirmed: int = 0  # the session (1 = the opening, 2.. = 复会) it last confirmed in
    objecting: str | None = None  # its objection not yet answered: one at a time
    cosigned: bool = False  # the supervisor co-signed a backup decryption of its envelope
    deposit: int = 0  # 投标保证金 paid in cash (auction/opening/deposits.py)
    guaranteed: bool = False  # or a guarantee for it

    @property
    def valid(self) -> bool:
        """An envelope in time and signed in: its bid is opened."""
        return self.envelope is not None and self.signed_in is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class OpeningState:
    config: OpeningConfig
    phase: OpeningPhase = OpeningPhase.SCHEDULED
    deadline: int | None = None  # when the clock next moves the opening
    seq: int = 0
    pseq: int = 0  # the public entries' own count (auction.log.EntryLog)
    ts: int = 0
    paused_left: int | None = None  # ms left of the decryption window while paused
    window_closed: bool = False
    session: int = 1  # 1 = the opening; each 复会 adds one
    tenderers: Mapping[str, Tenderer] = field(default_factory=dict)  # by bidder_id
    objections: Mapping[str, str | None] = field(default_factory=dict)  # id -> reply seq
    record_hash: str | None = None
    # each deposit's ref (blinded): whose, and its first answer, which a resend gets again
    refs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def state_to_map(state: OpeningState) -> dict[str, Any]:
    """The state as plain maps and lists, for storage between decisions."""
    fields = {name: getattr(state, name) for name in state.__dataclass_fields__}
    fields["config"] = state.config.as_map()
    fields["tenderers"] = [
        {name: _plain(getattr(t, name)) for name in t.__dataclass_fields__}
        for t in state.tenderers.values()
    ]
    fields["objections"] = dict(state.objections)
    fields["refs"] = {ref: dict(kept) for ref, kept in state.refs.items()}
    return fields


def state_from_map(fields: Mapping[str, Any]) -> OpeningState:
    tenderers = {t["bidder_id"]: Tenderer(**t) for t in fields["tenderers"]}
    return OpeningState(**{
        **fields, "config": OpeningConfig(**fields["config"]), "tenderers": tenderers,
        "phase": OpeningPhase(fields["phase"]),
        "objections": dict(fields["objections"]),
    })  # fmt: skip


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else value


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterTenderer:
    bidder_id: str
    plate: str
    name: str
    public_key: str | None = None  # PEM: what its signatures are checked with

    def __post_init__(self) -> None:
        _text("bidder_id", self.bidder_id, MAX_ID)
        _text("plate", self.plate, MAX_ID)
        _text("name", self.name, 200)
        if self.public_key is not None and not 0 < len(str(self.public_key)) <= MAX_KEY:
            raise BadMessage("public_key", "须为 PEM 格式的公钥", "must be a public key in PEM")


@dataclass(frozen=True, slots=True, kw_only=True)
class Submit:
    """An envelope uploaded: its digest and key commitment (hex SHA-256) and size."""

    bidder_id: str
    digest: str
    commitment: str
    size: int
    sig: str | None = None  # its bidder's signature, where the opening takes them

    def __post_init__(self) -> None:
        _sig(self.sig)
        for name in ("digest", "commitment"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) != 64 or value.strip("0123456789abcdef"):
                raise BadMessage(name, "须为 64 位十六进制 SHA-256", "must be a hex SHA-256")
        _whole("size", self.size, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class TenderDeposit:
    """投标保证金 reported for a tenderer (by the bank, or the host by hand), before the
    bidders are published; `ref` is blinded, as a lot's are."""

    bidder_id: str
    amount: int
    kind: str
    ref: str
    actor: str | None = None

    def __post_init__(self) -> None:
        _text("bidder_id", self.bidder_id, MAX_ID)
        _whole("amount", self.amount, 1)
        if self.kind not in ("cash", "guarantee"):
            raise BadMessage("kind", "须为 cash 或 guarantee", "must be cash or guarantee")
        _text("ref", self.ref, MAX_ID)
        if self.actor is not None:
            _text("actor", self.actor, MAX_ID)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignIn:
    bidder_id: str
    sig: str | None = None

    def __post_init__(self) -> None:
        _sig(self.sig)


@dataclass(frozen=True, slots=True, kw_only=True)
class Advance:
    """The host moves the opening to its next phase; `to`, when given, must be that phase
    (a second click on a stale screen is refused instead of skipping a step)."""

    to: str | None = None

    def __post_init__(self) -> None:
        if self.to is not None and self.to not in PHASES:
            raise BadMessage("to", "未知阶段", "unknown phase")


@dataclass(frozen=True, slots=True, kw_only=True)
class Decrypt:
    """The bidder handed over its key (base64 `key`); the server opened the envelope and
    found `bid`, or failed with `reason` (auction.opening.envelope.EnvelopeFailure)."""

    bidder_id: str
    key: str
    bid: Mapping[str, Any] | None = None
    reason: str | None = None
    key_sha256: str | None = None  # a refused one's, replayed: the log keeps no key

    def __post_init__(self) -> None:
        if (self.bid is None) == (self.reason is None):
            raise BadMessage("key", "须有解密结果或失败原因", "need a bid or a failure reason")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """The host declares a platform-side fault for a bidder's decryption (撤回 if unmended)."""

    plate: str
    note: str

    def __post_init__(self) -> None:
        _text("note", self.note)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cosign:
    """会签: the supervisor agrees to a backup decryption of this tenderer's envelope, which
    the host may then carry out; the opening must name backup as its remedy (R10)."""

    plate: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Backup:
    """备用解密: the host opens a platform-fault bidder's envelope with its backup key."""

    plate: str
    key: str
    bid: Mapping[str, Any] | None = None
    reason: str | None = None
    key_sha256: str | None = None  # as Decrypt's


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Unpause:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirm:
    bidder_id: str
    sig: str | None = None

    def __post_init__(self) -> None:
        _sig(self.sig)


@dataclass(frozen=True, slots=True, kw_only=True)
class Object:
    bidder_id: str
    text: str
    sig: str | None = None

    def __post_init__(self) -> None:
        _text("text", self.text)
        _sig(self.sig)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    objection_id: str
    text: str

    def __post_init__(self) -> None:
        _text("objection_id", self.objection_id, MAX_ID)
        _text("text", self.text)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reopen:
    """复会: the host reopens an ended opening for another round of confirmation."""

    reason: str

    def __post_init__(self) -> None:
        _text("reason", self.reason)


OpeningCommand = (
    RegisterTenderer
    | Submit
    | SignIn
    | Advance
    | Decrypt
    | Fault
    | Cosign
    | Backup
    | Pause
    | Unpause
    | Confirm
    | Object
    | Reply
    | Reopen
    | CreditCheck
    | TenderDeposit
    | Tick
)

# every command by its name on the wire and in the log: the one table of them
COMMANDS: dict[str, type[OpeningCommand]] = {
    "register": RegisterTenderer, "submit": Submit, "sign_in": SignIn, "advance": Advance,
    "decrypt": Decrypt, "backup": Backup, "fault": Fault, "cosign": Cosign, "pause": Pause,
    "resume": Unpause, "confirm": Confirm, "object": Object, "reply": Reply, "reopen": Reopen,
    "tick": Tick, "credit_check": CreditCheck, "deposit": TenderDeposit,
}  # fmt: skip
NAMES: dict[type[OpeningCommand], str] = {kind: name for name, kind in COMMANDS.items()}


def parse(name: str, fields: Mapping[str, Any]) -> OpeningCommand:
    """The command `name`, its fields taken from `fields` (others ignored, a missing one
    None); each command then checks its own fields (BadMessage)."""
    kind = COMMANDS.get(name)
    if kind is None:
        raise BadMessage("type", "未知的消息类型", "unknown message type")
    return build(kind, fields)


# ---- reading and changing the tenderers of a state ------------------------------------


def tenderer_of(s: OpeningState, bidder_id: str) -> Tenderer:
    """The tenderer `bidder_id`; NotFound if there is none."""
    if bidder_id not in s.tenderers:
        raise NotFound("bidder")
    return s.tenderers[bidder_id]


def tenderer_by_plate(s: OpeningState, plate: str) -> Tenderer:
    found = next((t for t in s.tenderers.values() if t.plate == plate), None)
    if found is None:
        raise NotFound("bidder")
    return found


def in_plate_order(s: OpeningState) -> list[Tenderer]:
    return sorted(s.tenderers.values(), key=lambda t: t.plate)


def with_tenderer(s: OpeningState, t: Tenderer) -> OpeningState:
    return replace(s, tenderers={**s.tenderers, t.bidder_id: t})
