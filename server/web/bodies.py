"""What the HTTP API takes and gives, as types: each request body is decoded and checked
against its type here (`server/web/api.py`'s `body_of`), and the OpenAPI description is
generated from the same types (`server/openapi.py`). The domain checks the rest (ranges
that depend on each other, the rules), with the same error codes.

A lot's and an opening's config are the domain's own types (auction/lot/config.py,
auction/opening/state.py); the other bodies and every answer are written here. Answers list
the fields a client may rely on; an answer may carry more.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from auction.lot.config import LotConfig
from auction.opening.config import OpeningConfig
from server.web import money_types, party_types

__all__ = [
    "ANSWERS",
    "BODIES",
    "Accepted",
    "Anchor",
    "Audit",
    "BidBody",
    "Bidders",
    "Command",
    "Consistency",
    "Created",
    "DepositBody",
    "Description",
    "Envelope",
    "Error",
    "Events",
    "HallDay",
    "Health",
    "Inclusion",
    "LotConfig",
    "LotSnapshot",
    "NewBidder",
    "NewStaff",
    "NewTenderer",
    "OpeningConfig",
    "OpeningSnapshot",
    "Reason",
    "Record",
    "Registered",
    "Result",
    "Revoked",
    "Share",
    "Signals",
    "Signed",
    "StaffList",
    "StaffMade",
    "Stopped",
    "WhoAmI",
]

Id = Annotated[str, Meta(min_length=1, max_length=64)]
Signature = Annotated[str, Meta(min_length=1, max_length=200)]  # base64 (auction/signatures.py)
Money = Annotated[int, Meta(ge=1, le=2**53 - 1)]
Time = Annotated[int, Meta(ge=0, le=2**53 - 1)]
Seq = Annotated[int, Meta(ge=0)]
Text = Annotated[str, Meta(min_length=1, max_length=500)]
Entry = dict[str, Any]  # a log entry: seq, kind, ts and the kind's own fields

COMMANDS = Literal[
    "sign_in", "decrypt", "confirm", "object",
    "advance", "pause", "resume", "fault", "backup", "reply", "reopen", "cosign",
]  # fmt: skip

# ---- requests ------------------------------------------------------------------------


class NewBidder(Struct, kw_only=True):
    """The host types a `name` or names a `party_id` of the library; a party registering
    itself (its own token) gives neither."""

    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    party_id: Id | None = None
    public_key: Annotated[str, Meta(max_length=8192)] | None = None


class DepositBody(Struct, kw_only=True):
    amount: Money
    kind: Literal["cash", "guarantee"]
    ref: Id
    payer_account: Annotated[str, Meta(min_length=1, max_length=60)] | None = None  # 付款账户


class BidBody(Struct, kw_only=True):
    """A price bid, or in a capped lot's secondary round an indicator bid; in a lot sold by
    quantity, a unit price and the quantity asked."""

    bid_id: Id
    price: Money | None = None
    indicator: Money | None = None
    quantity: Money | None = None
    sig: Signature | None = None  # its bidder's, where the lot takes signatures


class Signed(Struct, kw_only=True):
    """A continue or an accept: its bidder's signature, where the lot takes signatures."""

    sig: Signature | None = None


class NewTenderer(Struct, kw_only=True):
    """The host types a `name` or names a `party_id` of the library; a party registering
    itself (its own token) gives neither."""

    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    party_id: Id | None = None
    public_key: Annotated[str, Meta(max_length=8192)] | None = None


class Envelope(Struct, kw_only=True):
    """Sealed on the bidder's side (auction/opening/envelope.py): base64 nonce and ciphertext, the
    hex SHA-256 commitment to its key."""

    nonce: Annotated[str, Meta(min_length=16, max_length=16)]
    ciphertext: Annotated[str, Meta(min_length=4)]
    commitment: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
    sig: Signature | None = None  # its bidder's, where the opening takes signatures


class Command(Struct, kw_only=True):
    """Any command of an opening's WebSocket, by a bidder or the host."""

    type: COMMANDS
    key: str | None = None
    plate: str | None = None
    text: Text | None = None
    note: Text | None = None
    objection_id: Id | None = None
    to: str | None = None
    reason: Text | None = None
    sig: Signature | None = None  # a bidder's sign_in, confirm or object, where asked


class NewStaff(Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    role: Literal["host", "supervisor", "bank", "issuer"]


class Reason(Struct, kw_only=True):
    """Why staff suspend, resume or terminate a lot (it goes into the public log)."""

    reason: Text


class Share(Struct, kw_only=True):
    """The supervisor's share of a cap lottery's draw: 32 random bytes of their own, as 64
    lowercase hex digits (the console makes them in the browser)."""

    share: Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]


class Description(Struct, kw_only=True):
    """A WebRTC session description: the client's offer in, the server's answer out."""

    sdp: Annotated[str, Meta(min_length=1, max_length=16 * 1024)]
    type: Literal["offer", "answer"]


BODIES: tuple[type, ...] = (
    LotConfig, OpeningConfig, NewBidder, DepositBody, BidBody, NewTenderer, Envelope, Command,
    Description, Reason, Share, NewStaff, Signed,
)  # fmt: skip

# ---- answers -------------------------------------------------------------------------


class Error(Struct, kw_only=True):
    code: str
    message: str
    field: str | None = None
    accepted: bool | None = None
    server_now: Time | None = None
    listing: dict[str, Any] | None = None  # BLACKLISTED: the entry's source, from, until


class Health(Struct, kw_only=True):
    ok: bool
    server_now: Time
    worker: int = 0  # which process answered, of `openbid serve --workers N` (0 to N-1)


class ConfigWarning(Struct, kw_only=True):
    """A statutory check the lot's config fails (auction/lot/statute.py): the lot was created,
    but the host should look again; under a preset it would have been refused."""

    field: str
    code: str
    message: str


class Created(Struct, kw_only=True):
    lot_id: Id | None = None
    opening_id: Id | None = None
    warnings: list[ConfigWarning] = []


class Registered(Struct, kw_only=True):
    bidder_id: Id
    token: str
    plate: str | None = None


class Accepted(Struct, kw_only=True):
    """A decision: accepted with its seq and what it decided; `pending` when it waits for
    a second person (resume, terminate)."""

    accepted: bool
    seq: Seq | None = None
    server_now: Time | None = None
    pending: str | None = None
    winner_plate: str | None = None


class LotSnapshot(Struct, kw_only=True):
    phase: str
    price: int | None
    leader: str | None
    next_min: int | None
    deadline: Time | None
    seq: Seq  # in the public sequence (R5)
    has_reserve: bool
    terms: dict[str, Any] | None = None  # the public config, deadlines as suspensions moved them
    server_now: Time


class OpeningSnapshot(Struct, kw_only=True):
    phase: str
    deadline: Time | None
    seq: Seq
    title: str
    bid_deadline: Time
    server_now: Time


class Events(Struct, kw_only=True):
    events: list[Entry]
    server_now: Time
    more: bool | None = None
    next: Seq | None = None


class Result(Struct, kw_only=True):
    outcome: str
    price: int | None
    winner_plate: str | None
    winner_name: str | None
    server_now: Time


class Inclusion(Struct, kw_only=True):
    """The entry of a log whose bytes hash to `entry` (hex), with `chain_hash`, is leaf
    `index` of the transparency log's tree of `size` leaves: the proof's hashes (base64,
    RFC 9162 order), with a checkpoint of that size in an export."""

    log: Id
    entry: str
    chain_hash: str
    index: int
    size: int
    proof: list[str]
    checkpoint: str | None = None
    anchor: Anchor | None = None  # in an export: the latest anchor, consistent with `size`


class Consistency(Struct, kw_only=True):
    """The transparency log's tree of `from` leaves is a prefix of its tree of `to`."""

    old: int = msgspec.field(name="from")
    new: int = msgspec.field(name="to")
    proof: list[str]


class Anchor(Struct, kw_only=True):
    """A checkpoint of the transparency log (`checkpoint`, its signed note, of `size`
    leaves) anchored in time: `token` is an RFC 3161 time-stamp token (base64 DER of its
    CMS ContentInfo) over SHA-256 of the note's bytes, `time` its genTime (ISO 8601);
    `consistency` ties it to the tree the request named."""

    checkpoint: str
    size: int
    token: str
    time: str
    consistency: Consistency | None = None


class Audit(Struct, kw_only=True):
    """The hash-chained log, as `openbid verify` reads it, with a signed checkpoint of the
    transparency log and the inclusion proof of the last entry."""

    format: str
    lot_id: Id
    head: str
    entries: list[Entry]
    transparency: Inclusion | None = None
    blinding_key: str | None = None  # the staff's export: the key of the blinded values
    clear: dict[str, str] | None = None  # and what each blinded name or ref hides


class HallDay(Struct, kw_only=True):
    day: str
    lots: list[Entry]
    openings: list[Entry]
    server_now: Time


class WhoAmI(Struct, kw_only=True):
    role: Literal["admin", "supervisor"]
    server_now: Time


class Bidders(Struct, kw_only=True):
    bidders: list[Entry]
    server_now: Time


class Unmasked(Struct, kw_only=True):
    """What the supervisor's break-glass shows, once its `unmasked` entry is logged."""

    accepted: bool
    seq: Seq
    bidders: list[Entry]
    reserve: int | None
    server_now: Time


class Record(Struct, kw_only=True):
    record: dict[str, Any]
    record_hash: str
    record_seq: Seq
    server_now: Time


class StaffMade(Struct, kw_only=True):
    """A person's credential, shown this once (a bank's or an issuer's HMAC secret too)."""

    staff_id: Id
    name: str
    role: str
    token: str
    hmac_secret: str | None = None


class StaffList(Struct, kw_only=True):
    staff: list[Entry]
    server_now: Time


class Revoked(Struct, kw_only=True):
    revoked: bool
    server_now: Time


class Stopped(Struct, kw_only=True):
    stopped: bool


class Signals(Struct, kw_only=True):
    """围串标预警, the supervisor's: each flag's `kind`, the bidders it names and its evidence
    (auction/signals.py)."""

    flags: list[Entry]
    server_now: Time


ANSWERS: tuple[type, ...] = (
    Error, Health, Created, Registered, Accepted, LotSnapshot, OpeningSnapshot, Events, Result,
    Audit, HallDay, WhoAmI, Bidders, Record, Stopped, Description, Inclusion, Consistency,
    Anchor, StaffMade, StaffList, Revoked, Signals, Unmasked,
)  # fmt: skip


def components() -> dict[str, Any]:
    """Every body's and answer's JSON Schema (2020-12, as OpenAPI 3.1 takes it), by name."""
    _, found = msgspec.json.schema_components(
        BODIES
        + ANSWERS
        + party_types.BODIES
        + party_types.ANSWERS
        + money_types.BODIES
        + money_types.ANSWERS,
        ref_template="#/components/schemas/{name}",
    )
    return found
