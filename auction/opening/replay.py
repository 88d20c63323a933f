"""Replay of an opening's log through the reference rules, re-opening every envelope.

The log's entries are grouped by the command that wrote them (the first entry of a group
names it); each command is decided again by `auction.opening.rules.step` at its logged time and
must write exactly the logged entries. A `decrypted` or `decrypt_failed` entry names the key
handed over: the replay opens the exported envelope with it (auction.opening.envelope), so the
logged bid, or the logged failure, is checked against the ciphertext itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auction.checks import build
from auction.errors import BadMessage
from auction.log import Discrepancy, Entry, Tick, replay_steps
from auction.opening import rules as opening
from auction.opening.config import OpeningConfig
from auction.opening.envelope import EnvelopeFailure, decode_key, digest, open_envelope
from auction.opening.state import (
    Backup,
    Confirm,
    Cosign,
    CreditCheck,
    Decrypt,
    Fault,
    Object,
    OpeningCommand,
    OpeningState,
    RegisterTenderer,
    Reply,
    SignIn,
    Submit,
    TenderDeposit,
    parse,
)

__all__ = ["Envelopes", "replay_opening"]

Envelopes = Mapping[str, tuple[bytes, bytes]]  # digest -> (nonce, ciphertext)


def replay_opening(opening_id: str, entries: Sequence[Entry], envelopes: Envelopes) -> OpeningState:
    """Replay a whole opening log; return the final state or raise Discrepancy."""
    first = entries[0] if entries else {}
    if first.get("kind") != "created" or first.get("object") != "opening":
        raise Discrepancy(1, "the log does not start with the opening's `created` entry")
    try:
        config = OpeningConfig.parse(first.get("config"))
    except BadMessage as error:
        raise Discrepancy(1, f"the opening's config does not hold: {error}") from None
    made = opening.create(config, first["ts"])
    if made.entries != [first]:
        raise Discrepancy(1, "the `created` entry is not what the rules write for its config")

    def decide(state: OpeningState, entry: Entry) -> tuple[OpeningState, list[Entry]]:
        command = _command(opening_id, state, entry, envelopes)
        result = opening.step(state, command, entry["ts"])
        return result.state, result.entries

    return replay_steps(made.state, entries, decide)


def _command(
    opening_id: str, state: OpeningState, entry: Entry, envelopes: Envelopes
) -> OpeningCommand:
    kind, plate = entry.get("kind"), str(entry.get("plate"))
    who = next((t.bidder_id for t in state.tenderers.values() if t.plate == plate), "")
    if kind == "refused":
        return _refused(entry, who, plate)
    match kind:
        case "registered":
            key = entry.get("public_key")
            return RegisterTenderer(bidder_id=entry["bidder_id"], plate=plate,
                                    name=entry["name"], public_key=key)  # fmt: skip
        case "credit_check":
            return build(CreditCheck, entry)
        case "deposit":
            return TenderDeposit(bidder_id=who, amount=entry["amount"], kind=entry["deposit_kind"],
                                 ref=entry["ref"], actor=entry.get("actor"))  # fmt: skip
        case "envelope":
            return Submit(bidder_id=who, digest=entry["digest"], commitment=entry["commitment"],
                          size=entry["size"], sig=entry.get("sig"))  # fmt: skip
        case "signed_in":
            return SignIn(bidder_id=who, sig=entry.get("sig"))
        case "confirmed":
            return Confirm(bidder_id=who, sig=entry.get("sig"))
        case "objection":
            return Object(bidder_id=who, text=entry["text"], sig=entry.get("sig"))
        case "reply":
            return Reply(objection_id=entry["objection_id"], text=entry["text"])
        case "fault":
            return Fault(plate=plate, note=entry["note"])
        case "cosigned":
            return Cosign(plate=plate)
        case "decrypted" | "decrypt_failed" if entry.get("via") in ("key", "backup"):
            return _opened(opening_id, state, entry, who, envelopes)
        case "phase" if entry.get("command"):
            return _host(entry["command"], entry)
    return Tick()


def _host(name: str, fields: Mapping[str, Any]) -> OpeningCommand:
    if name not in ("advance", "pause", "resume", "reopen"):
        raise Discrepancy(0, f"unknown host command {name}")
    return parse(name, fields)


def _refused(entry: Entry, who: str, plate: str) -> OpeningCommand:
    """The command a refusal logged: its name and its arguments, the bidder by its plate."""
    name, args = str(entry.get("command")), dict[str, Any](entry.get("args") or {})
    if name in ("decrypt", "backup"):  # logged with the key's hash alone since review M1
        args = {"key": ""} | args
    if name in ("advance", "pause", "resume", "reopen"):
        return _host(name, args)
    return parse(name, {"bidder_id": who, "plate": plate} | args)


def _opened(
    opening_id: str, state: OpeningState, entry: Entry, who: str, envelopes: Envelopes
) -> OpeningCommand:
    """Open the bidder's envelope with the logged key, as the server did."""
    tenderer = state.tenderers.get(who)
    if tenderer is None or tenderer.envelope is None or tenderer.commitment is None:
        raise Discrepancy(entry["seq"], "a key for a bidder with no envelope")
    sealed = envelopes.get(tenderer.envelope)
    bid: dict[str, Any] | None = None
    reason: str | None = None
    if sealed is None or digest(*sealed) != tenderer.envelope:
        reason = "STORAGE_MISMATCH"  # not the envelope uploaded: the platform's failure
    else:
        try:
            bid = open_envelope(opening_id, who, tenderer.commitment, *sealed,
                                decode_key(entry["key"]))  # fmt: skip
        except EnvelopeFailure as failure:
            reason = failure.reason
    if entry["via"] == "backup":
        return Backup(plate=tenderer.plate, key=entry["key"], bid=bid, reason=reason)
    return Decrypt(bidder_id=who, key=entry["key"], bid=bid, reason=reason)
