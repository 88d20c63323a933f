"""The replay of a lot's log through the reference rules (the chain is auction/log.py's).

Rebuild the lot from its `created` entry and the reveals of its `closed` entry, feed
every logged command to `rules.step` at its logged time, and demand that the rules write
exactly the logged entries, no more and no fewer. A sealed lot's bids are opened again with
the key its `revealed` entry gives (checked against the commitment in `created`). The first
difference is a `Discrepancy`.
"""

from __future__ import annotations

from collections.abc import Sequence

from auction.checks import build
from auction.errors import BadMessage
from auction.log import Discrepancy, Entry, Tick, replay_steps
from auction.lot import rules, sealing
from auction.lot.commit import lottery_commitment, reserve_commitment
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

__all__ = ["replay"]


_SEALED = ("has_reserve", "reserve_commitment", "lottery_commitment")  # known at the close


def replay(entries: Sequence[Entry], lot_id: str) -> LotState:
    """Replay a whole log; return the final state, or raise Discrepancy at the first fault.
    A sealed lot's bids are opened again with the key its close revealed."""
    if not entries or entries[0].get("kind") != "created" or entries[0].get("seq") != 1:
        raise Discrepancy(1, "the log does not start with the lot's `created` entry")
    ids: dict[str, str] = {}

    def decide(state: LotState, entry: Entry) -> tuple[LotState, list[Entry]]:
        if entry.get("kind") == "registered":
            ids[entry["plate"]] = entry["bidder_id"]
        if entry.get("kind") == "revealed":
            command: Command = _reopened(state, entry, entries[0], lot_id)
        else:
            command = _command(entry, ids)
        result = rules.step(state, command, entry["ts"])
        return result.state, result.entries

    return replay_steps(_created(entries), entries, decide)


def _created(entries: Sequence[Entry]) -> LotState:
    first = entries[0]
    closed = next((e for e in entries if e.get("kind") == "closed"), None)
    reserve = closed.get("reserve") if closed else None
    try:
        config = LotConfig.parse({**first["config"], "reserve": reserve})
    except BadMessage as error:
        raise Discrepancy(1, f"the lot's config does not hold: {error}") from None
    secrets = Secrets(
        reserve_salt=(closed or {}).get("reserve_salt") or "",
        lottery_seed=(closed or {}).get("lottery_seed") or "",
    )
    result = rules.create(config, secrets, first["ts"], first.get("sealing_commitment"))
    written = result.entries[0]
    if closed:
        _check_reveals(first, closed, config, secrets)
    else:  # still open: what the close reveals cannot be checked yet
        written = written | {k: first.get(k) for k in _SEALED}
    if written != first:
        raise Discrepancy(1, "the `created` entry is not what the rules write for its config")
    return result.state


def _check_reveals(first: Entry, closed: Entry, config: LotConfig, secrets: Secrets) -> None:
    if config.reserve is not None and first.get("reserve_commitment") != reserve_commitment(
        config.reserve, secrets.reserve_salt
    ):
        raise Discrepancy(closed["seq"], "the revealed reserve does not match its commitment")
    if first.get("lottery_commitment") != lottery_commitment(secrets.lottery_seed):
        raise Discrepancy(closed["seq"], "the revealed lottery seed does not match its commitment")


def _reopened(state: LotState, revealed: Entry, first: Entry, lot_id: str) -> Tick:
    """The close of a sealed lot as the server made it: every sealed bid opened with the
    revealed key, which must be the one committed to when the lot was created."""
    try:
        key = bytes.fromhex(str(revealed.get("key")))
    except ValueError:
        raise Discrepancy(revealed["seq"], "the revealed sealing key is not hex") from None
    if sealing.sealing_commitment(key) != first.get("sealing_commitment"):
        raise Discrepancy(revealed["seq"], "the revealed key is not the one committed to")
    boxes = {b.bidder_id: b.sealed_box for b in state.bidders.values() if b.sealed_box}
    return Tick(opened=sealing.open_all(key, lot_id, boxes), key=revealed["key"])


def _command(entry: Entry, ids: dict[str, str]) -> Command:
    """The command that wrote `entry`; Tick for entries the clock writes."""
    kind = entry.get("kind")
    if kind == "refused":
        kind = entry.get("command")
    plate = entry.get("plate", "")
    who = ids.get(plate, "")
    match kind:
        case "registered":
            return Register(
                bidder_id=entry["bidder_id"], plate=plate, name=entry["name"],
                actor=entry.get("actor"), public_key=entry.get("public_key"),
            )  # fmt: skip
        case "deposit":
            return Deposit(
                bidder_id=who, amount=entry["amount"], kind=entry["deposit_kind"],
                ref=entry["ref"], actor=entry.get("actor"), payer=entry.get("payer"),
            )  # fmt: skip
        case "bid" | "indicator":
            price, indicator, sealed = (
                entry.get("price"),
                entry.get("indicator"),
                entry.get("sealed"),
            )
            return PlaceBid(bidder_id=who, bid_id=entry["bid_id"], price=price,
                            indicator=indicator, sealed=sealed, sig=entry.get("sig"),
                            quantity=entry.get("quantity"))  # fmt: skip
        case "credit_check":
            return build(CreditCheck, entry)
        case "guarantee":
            return build(FileGuarantee, entry | {"bidder_id": who})
        case "guarantee_confirmed":
            return ConfirmGuarantee(number=entry["number"], actor=entry.get("actor"))
        case "guarantee_revoked":
            return RevokeGuarantee(number=entry["number"], actor=entry.get("actor"))
        case "continue":
            return Continue(bidder_id=who, sig=entry.get("sig"))
        case "accept":
            return Accept(bidder_id=who, sig=entry.get("sig"))
        case "suspended" if entry.get("by") != "platform":
            return Suspend(by=entry["by"], reason=entry["reason"], actor=entry.get("actor"))
        case "contract":
            return Contract(actor=entry.get("actor"))
        case "requested" | "defaulted" if entry.get("action", "default") == "default":
            return Default(by=entry["by"], reason=entry["reason"], actor=entry.get("actor"))
        case "refund":
            return Refunded(seq=entry["refund"], status=entry["status"], actor=entry.get("actor"))
        case "requested":
            staff = Resume if entry.get("action") == "resume" else Terminate
            return staff(by=entry["by"], reason=entry["reason"], actor=entry.get("actor"))
        case "resumed":
            return Resume(by=entry["by"], reason=entry["reason"], actor=entry.get("actor"))
        case "closed" if entry.get("outcome") == "terminated":
            return Terminate(by=entry["by"], reason=entry["reason"], actor=entry.get("actor"))
        case "unmasked":
            return Unmask(by=entry["by"], reason=entry["reason"], actor=entry.get("actor"))
        case "closed" if entry.get("lottery_share") is not None:
            return Draw(by="supervisor", share=entry["lottery_share"], actor=entry.get("actor"))
    return Tick()  # what the clock writes, a late deadline's suspension included
