"""What the server does for an opening's callers, whatever the transport: check input, open
envelopes with handed-over keys, decide through the rules, store by compare-and-set, shape
the answer. HTTP routes and the opening's WebSocket only decode and encode.

Bidders act with their opening token; the host is the admin. Raises OpenBidError subclasses
for bad input (nothing is written then); refusals by the rules come back as answers with
`accepted: False` and are in the log.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from auction.errors import (
    BadMessage,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    TooLarge,
)
from auction.log import Entry, Tick
from auction.opening import rules as opening
from auction.opening.config import OpeningConfig
from auction.opening.envelope import NONCE_BYTES, EnvelopeFailure, decode_key, digest, open_envelope
from auction.opening.state import (
    Backup,
    Decrypt,
    OpeningCommand,
    OpeningState,
    Submit,
    parse,
)
from auction.signatures import OPENING_SIGNED, PublicKey
from server.limits import Limiter, Limits
from server.services import views
from server.services.common import bidder_of, new_plate, object_of, public_page
from server.services.signing import Signatures, key_required
from server.store.chainer import Chainer
from server.store.hall import Hall
from server.store.logs import Logs
from server.store.openings import OpeningBook
from server.store.scripts import unpack

__all__ = [
    "AUDIT_KIND",
    "BIDDER_COMMANDS",
    "HOST_COMMANDS",
    "MAX_ENVELOPE",
    "OpeningService",
]

AUDIT_KIND = "opening"
MAX_ENVELOPE = 8 * 1024 * 1024  # ciphertext bytes: a priced bid with its attached file
DECIDE_TRIES = 20  # compare-and-set retries; openings see a few commands a second at most
MAX_KEY_TEXT = 100  # a 256-bit key is 44 characters of base64
BIDDER_COMMANDS = ("sign_in", "decrypt", "confirm", "object")
HOST_COMMANDS = ("advance", "pause", "resume", "fault", "backup", "reply", "reopen")
SUPERVISOR_COMMANDS = ("cosign",)  # the supervisor watches, and co-signs a backup (R10)
_ALLOWED = {"bidder": BIDDER_COMMANDS, "admin": HOST_COMMANDS, "supervisor": SUPERVISOR_COMMANDS}

Build = Callable[[OpeningState, int], Awaitable[OpeningCommand]]  # (state, server time)


@dataclass(frozen=True, slots=True)
class Decided:
    answer: dict[str, Any]
    state: OpeningState  # after the command
    now: int  # the server time it was decided at


class OpeningService:
    def __init__(
        self, book: OpeningBook, logs: Logs, chainer: Chainer, hall: Hall, limits: Limits,
        within_rate: Callable[[str, str, str], bool] = lambda *_: True,
        receipt: Callable[[str, bytes, Entry], str] | None = None,
    ) -> None:  # fmt: skip
        """`within_rate(opening_id, bidder_id, command)` takes from the bidder's bucket, the
        one bids take from (the lot service's)."""
        self.book, self.logs, self.chainer = book, logs, chainer  # logs: any log by id
        self.hall, self.limits, self.within_rate = hall, limits, within_rate
        self._uploads = Limiter(limits.envelopes_per_s, limits.envelope_burst)
        self.receipt = receipt  # signs what an accepted command logged
        self.signatures: Signatures | None = None  # checks bidders' signatures, where asked
        self._modes: dict[str, str] = {}  # opening id -> its `signatures` setting
        self.live: Callable[[str], bool] = lambda _: False  # is the host's livestream on?

    async def decide(self, opening_id: str, build: Build) -> Decided:
        """Decide the command `build` makes from the current state; store by compare-and-set
        and retry when another process stored first."""
        for _ in range(DECIDE_TRIES):
            now, state = await self.book.load(opening_id)
            if state is None:
                raise NotFound("opening")
            result = opening.step(state, await build(state, now), now)
            if not result.entries:
                return Decided(result.answer, result.state, now)
            stored = await self.book.append(
                opening_id, state.seq, result.state, result.entries, now
            )
            if stored is not None:
                self.chainer.poke(opening_id)
                return Decided(self._receipted(opening_id, result.answer, stored.raw_entries,
                                               result.entries), result.state, now)  # fmt: skip
        raise Conflict("系统繁忙，请重试", "the opening is busy; try again")

    def _receipted(
        self, opening_id: str, answer: dict[str, Any], raws: list[bytes], entries: list[Entry]
    ) -> dict[str, Any]:
        """An accepted answer with the signed receipt of the entry it names."""
        seq, first = answer.get("seq"), entries[0]["seq"]
        if self.receipt is None or not answer.get("accepted") or not isinstance(seq, int):
            return answer
        if not 0 <= seq - first < len(raws):
            return answer
        return answer | {
            "receipt": self.receipt(opening_id, raws[seq - first], entries[seq - first])
        }

    async def command(self, opening_id: str, command: OpeningCommand) -> dict[str, Any]:
        return (await self.decide(opening_id, _fixed(command))).answer

    # ---- the host's setup ------------------------------------------------------------

    async def create(self, raw: object) -> str:
        config = OpeningConfig.parse(raw)
        opening_id = "op" + secrets.token_hex(5)
        now, _ = await self.book.load(opening_id)
        if config.bid_deadline <= now:  # it would be past its deadline before anyone seals
            raise BadMessage("bid_deadline", "须晚于当前时间", "must be in the future")
        await self.hall.add("opening", opening_id, config.bid_deadline)
        made = opening.create(config, now)
        if await self.book.append(opening_id, 0, made.state, made.entries, now) is None:
            raise Conflict("开标项目已存在", "opening exists")
        self.chainer.poke(opening_id)
        return opening_id

    async def register(self, opening_id: str, raw: object) -> dict[str, Any]:
        body = object_of(raw)
        name, key = body.get("name"), body.get("public_key")
        if key is not None:
            PublicKey.load(key)  # BadMessage unless a P-256 or an SM2 key in PEM
        _, state = await self.book.load(opening_id)
        if state is None:
            raise NotFound("opening")
        if key is None and state.config.signatures == "required":
            raise key_required()
        bidder_id, token = "t" + secrets.token_hex(6), secrets.token_urlsafe(24)
        if key is not None and self.signatures is not None:
            await self.signatures.keep_key(opening_id, bidder_id, key)

        async def register(plate: str) -> dict[str, Any]:
            fields = {"bidder_id": bidder_id, "plate": plate, "name": name, "public_key": key}
            return await self.command(opening_id, parse("register", fields))

        plate = await new_plate(register)
        await self.book.add_token(opening_id, token, bidder_id)
        return {"bidder_id": bidder_id, "plate": plate, "token": token}

    async def tenderers(self, opening_id: str) -> list[dict[str, Any]]:
        """The staff's list: every registered bidder, whether its envelope is in, and its
        progress (names are the staff's to see before they are published)."""
        state = await self.tick(opening_id)
        return [
            {"bidder_id": t.bidder_id, "plate": t.plate, "name": t.name,
             "envelope": t.envelope is not None, "signed_in": t.signed_in,
             "status": t.status, "side": t.side, "confirmed": t.confirmed}
            for t in sorted(state.tenderers.values(), key=lambda t: t.plate)
        ]  # fmt: skip

    async def bidder(self, opening_id: str, token: str | None) -> str:
        return await bidder_of(self.book, opening_id, token, "opening")

    async def events(self, opening_id: str, since: int) -> dict[str, Any]:
        """The public events after `since`, one page of the log at a time."""
        await self.tick(opening_id)  # NotFound for an unknown opening
        return await public_page(self.logs, opening_id, since)

    # ---- bidders ---------------------------------------------------------------------

    def within_upload_rate(self, opening_id: str, bidder_id: str) -> bool:
        """Take one from the tenderer's upload bucket; False when it must wait (the body
        is then refused unread)."""
        return self._uploads.take((opening_id, bidder_id))

    async def submit(self, opening_id: str, bidder_id: str, raw: object) -> dict[str, Any]:
        """An envelope sealed on the bidder's side: nonce, ciphertext (base64) and the
        commitment to its key (hex). Kept only if the rules accept it, and then alone: the
        tenderer's earlier envelope is dropped (its digest stays in the log). One upload of
        a tenderer at a time (Conflict meanwhile); TooLarge when it would pass the
        tenderer's upload budget or the opening's cap."""
        body = object_of(raw)
        nonce = _b64(body, "nonce", NONCE_BYTES, exact=True)
        sealed = _b64(body, "ciphertext", MAX_ENVELOPE)
        made = digest(nonce, sealed)
        Submit(bidder_id=bidder_id, digest=made, commitment=body.get("commitment"),  # type: ignore[arg-type]
               size=len(sealed), sig=body.get("sig"))  # its fields checked first  # fmt: skip
        sent = {"digest": made, "commitment": body.get("commitment"), "sig": body.get("sig")}
        sig = await self._signed(opening_id, bidder_id, "envelope", sent)
        command = Submit(bidder_id=bidder_id, digest=made, commitment=body.get("commitment"),  # type: ignore[arg-type]
                         size=len(sealed), sig=sig)  # fmt: skip
        async with self.book.uploading(opening_id, bidder_id, self.limits.envelope_timeout_s):
            return await self._submit(opening_id, bidder_id, (nonce, sealed), command)

    async def _submit(
        self, opening_id: str, bidder_id: str, sealed: tuple[bytes, bytes], command: Submit
    ) -> dict[str, Any]:
        made = command.digest
        budget, cap = self.limits.envelope_budget, self.limits.opening_envelopes
        kept = await self.book.put_envelope(opening_id, bidder_id, sealed, budget, cap)
        if kept != "OK":
            raise _too_large(kept)
        earlier: set[str] = set()

        async def build(state: OpeningState, now: int) -> OpeningCommand:
            if (found := state.tenderers.get(bidder_id)) and found.envelope:
                earlier.add(found.envelope)
            return command

        try:
            decided = await self.decide(opening_id, build)
        finally:  # decided, refused or failed: keep only what the state now points at
            for stale in {made} | earlier:
                await self.book.drop_envelope(opening_id, bidder_id, stale)
        return decided.answer

    async def act(
        self,
        opening_id: str,
        kind: str,
        message: dict[str, Any],
        bidder_id: str | None,
        role: str = "admin",
    ) -> dict[str, Any]:
        """A command from a bidder (`bidder_id`), the host or the supervisor (`role`)."""
        allowed = _ALLOWED.get(role, ())
        if kind not in allowed or (role == "bidder") != (bidder_id is not None):
            raise Forbidden()
        if bidder_id is not None and not self.within_rate(opening_id, bidder_id, kind):
            raise RateLimited()
        if kind == "decrypt":
            assert bidder_id is not None
            key = message.get("key")
            return (await self.decide(opening_id, self._decrypt(opening_id, bidder_id, key))).answer
        if kind == "backup":
            plate, key = message.get("plate"), message.get("key")
            return (await self.decide(opening_id, self._backup(opening_id, plate, key))).answer
        if bidder_id is not None and kind in OPENING_SIGNED:
            message = message | {"sig": await self._signed(opening_id, bidder_id, kind, message)}
        return await self.command(opening_id, _command(kind, message, bidder_id))

    async def _signed(
        self, opening_id: str, bidder_id: str, kind: str, sent: dict[str, Any]
    ) -> str | None:
        """The bidder's signature of `kind`, checked where the opening asks for them (the
        fields it names are the state's: the record a confirmation confirms, say)."""
        if self._modes.get(opening_id) == "off" or self.signatures is None:
            return None  # an opening's config never changes: asked once, then known
        _, state = await self.book.load(opening_id)
        if state is None:
            return None
        self._modes[opening_id] = state.config.signatures
        return await self.signatures.of_opening(opening_id, state, bidder_id, kind, sent)

    def _decrypt(self, opening_id: str, bidder_id: str, key: object) -> Build:
        async def build(state: OpeningState, now: int) -> OpeningCommand:
            text = _key_text(key)
            unopened = Decrypt(bidder_id=bidder_id, key=text, reason=opening.UNOPENED)
            if not opening.may_open(state, unopened, now):
                return unopened  # refused without a look inside (review M1)
            bid, reason = await self._open(opening_id, state, bidder_id, text)
            return Decrypt(bidder_id=bidder_id, key=text, bid=bid, reason=reason)

        return build

    def _backup(self, opening_id: str, plate: object, key: object) -> Build:
        async def build(state: OpeningState, now: int) -> OpeningCommand:
            text = _key_text(key)
            found = next((t for t in state.tenderers.values() if t.plate == plate), None)
            if found is None:
                raise NotFound("bidder")
            unopened = Backup(plate=found.plate, key=text, reason=opening.UNOPENED)
            if not opening.may_open(state, unopened, now):
                return unopened
            bid, reason = await self._open(opening_id, state, found.bidder_id, text)
            return Backup(plate=found.plate, key=text, bid=bid, reason=reason)

        return build

    async def _open(
        self, opening_id: str, state: OpeningState, bidder_id: str, key: str
    ) -> tuple[dict[str, Any] | None, str | None]:
        """Open the bidder's envelope with `key`: (the bid, None) or (None, the reason). The
        blob must still be the one uploaded (its digest is in the log): if the store lost or
        changed it, the failure is the platform's, STORAGE_MISMATCH (review M4)."""
        tenderer = state.tenderers.get(bidder_id)
        if tenderer is None or tenderer.envelope is None or tenderer.commitment is None:
            return None, "NO_ENVELOPE"
        sealed = await self.book.envelope(opening_id, bidder_id, tenderer.envelope)
        if sealed is None or digest(*sealed) != tenderer.envelope:
            return None, "STORAGE_MISMATCH"
        try:
            opened = open_envelope(opening_id, bidder_id, tenderer.commitment, *sealed,
                                   decode_key(key))  # fmt: skip
        except EnvelopeFailure as failure:
            return None, failure.reason
        return opened, None

    # ---- reading ---------------------------------------------------------------------

    async def tick(self, opening_id: str) -> OpeningState:
        return (await self.decide(opening_id, _fixed(Tick()))).state

    async def snapshot(self, opening_id: str, bidder_id: str | None = None) -> dict[str, Any]:
        return (await self.snapshot_at(opening_id, bidder_id))[0]

    async def snapshot_at(
        self, opening_id: str, bidder_id: str | None = None
    ) -> tuple[dict[str, Any], int]:
        """The snapshot, and the audit seq it reflects."""
        ticked = await self.decide(opening_id, _fixed(Tick()))  # a read also passes deadlines
        shown = views.opening_snapshot(ticked.state, ticked.now, bidder_id, self.live(opening_id))
        return shown, ticked.state.seq

    async def record(self, opening_id: str) -> dict[str, Any]:
        """The 开标记录表 as issued (its hash is in the log), with confirmations since."""
        if not await self.book.exists(opening_id):
            raise NotFound("opening")
        entries = [unpack(raw) for raw in await self.logs.log(opening_id)]
        issued = next((e for e in reversed(entries) if e["kind"] == "record"), None)
        if issued is None:
            raise Conflict("开标记录表尚未生成", "the record has not been issued yet")
        confirmations = [
            {"plate": e["plate"], "session": e["session"], "at": e["ts"]}
            for e in entries
            if e["kind"] == "confirmed"
        ]
        objections = [
            {k: e[k] for k in ("kind", "seq", "ts", "plate", "objection_id", "text") if k in e}
            for e in entries
            if e["kind"] in ("objection", "reply")
        ]
        return {
            "record": issued["record"], "record_hash": issued["record_hash"],
            "record_seq": issued["seq"], "confirmations": confirmations,
            "objections": objections,
        }  # fmt: skip


def _fixed(command: OpeningCommand) -> Build:
    async def build(state: OpeningState, now: int) -> OpeningCommand:
        return command

    return build


def _command(kind: str, m: dict[str, Any], bidder_id: str | None) -> OpeningCommand:
    """A bidder's or the host's command from its message; the command checks its fields."""
    return parse(kind, m | {"bidder_id": bidder_id or "", "plate": str(m.get("plate"))})


def _key_text(key: object) -> str:
    if not isinstance(key, str) or len(key) > MAX_KEY_TEXT:
        raise BadMessage("key", "须为 base64 文本", "must be base64 text")
    return key


def _too_large(why: str) -> TooLarge:
    if why == "BUDGET":
        return TooLarge(
            "您上传的投标文件总量已达上限", "you have uploaded as much as one bidder may"
        )
    return TooLarge("本项目的投标文件存储已满", "this opening holds as many envelopes as it may")


def _b64(body: dict[str, Any], name: str, limit: int, *, exact: bool = False) -> bytes:
    """The field decoded from base64: at most `limit` bytes, or exactly that with `exact`."""
    value = body.get(name)
    if exact and (not isinstance(value, str) or len(value) != (limit + 2) // 3 * 4):
        raise BadMessage(name, f"须为 {limit} 字节的 base64", f"must be base64 of {limit} bytes")
    if not isinstance(value, str) or len(value) > (limit + 2) // 3 * 4:
        raise BadMessage(
            name, f"须为不超过 {limit} 字节的 base64", f"must be base64, ≤{limit} bytes"
        )
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadMessage(name, "不是合法的 base64", "is not valid base64") from None
    if not decoded:
        raise BadMessage(name, "不能为空", "must not be empty")
    return decoded
