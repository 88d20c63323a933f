"""The opening's reference rules, without I/O: phases, decryption outcomes and their sides,
refusals that change nothing, the record, and the replay that `openbid verify` runs."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from typing import Any

import msgpack
import pytest

from auction.errors import BadMessage
from auction.log import Discrepancy, Entry, Tick
from auction.opening import record as opening_record
from auction.opening import rules as opening
from auction.opening.config import OpeningConfig
from auction.opening.envelope import (
    EnvelopeFailure,
    Sealed,
    decode_key,
    digest,
    open_envelope,
    seal,
)
from auction.opening.replay import replay_opening
from auction.opening.state import (
    Advance,
    Backup,
    Confirm,
    Cosign,
    Decrypt,
    Fault,
    Object,
    OpeningCommand,
    OpeningState,
    Pause,
    RegisterTenderer,
    Reopen,
    Reply,
    SignIn,
    Submit,
    Unpause,
    state_from_map,
    state_to_map,
)

OPENING = "op1"
DEADLINE = 1_800_000_000_000
WINDOW_S = 600
BIDS = {"a": 41_980_000_00, "b": 42_350_000_00, "c": 40_770_000_00, "d": 43_000_000_00}


@dataclass
class Opening:
    """An opening driven through the rules, keeping every entry like the log would."""

    state: OpeningState
    entries: list[Entry]
    sealed: dict[str, Sealed] = field(default_factory=dict)

    @classmethod
    def new(cls, min_bidders: int = 3, **more: Any) -> Opening:
        raw = {"title": "某道路工程施工", "bid_deadline": DEADLINE, "decrypt_window_s": WINDOW_S}
        config = OpeningConfig.parse({**raw, "min_bidders": min_bidders, **more})
        made = opening.create(config, DEADLINE - 86_400_000)
        return cls(made.state, list(made.entries))

    def do(self, command: OpeningCommand, now: int) -> dict[str, Any]:
        result = opening.step(self.state, command, now)
        self.state = result.state
        self.entries += result.entries
        return result.answer

    def enrol(self, bidders: str, now: int = DEADLINE - 3_600_000) -> None:
        for i, who in enumerate(bidders):
            self.do(RegisterTenderer(bidder_id=who, plate=str(101 + i), name=f"{who}公司"), now)
            sealed = seal(OPENING, who, {"price": BIDS[who], "duration_days": 365}, None)
            self.sealed[who] = sealed
            submit = Submit(bidder_id=who, digest=envelope_digest(sealed),
                            commitment=sealed.commitment, size=len(sealed.ciphertext))  # fmt: skip
            self.do(submit, now)

    def decrypt(self, who: str, now: int, key: bytes | None = None) -> dict[str, Any]:
        return self.do(self.decrypt_command(who, key), now)

    def decrypt_command(self, who: str, key: bytes | None = None) -> Decrypt:
        sealed, key = self.sealed[who], key if key is not None else self.sealed[who].key
        text = base64.b64encode(key).decode()
        try:
            bid = open_envelope(OPENING, who, sealed.commitment, sealed.nonce,
                                sealed.ciphertext, key)  # fmt: skip
        except EnvelopeFailure as failure:
            return Decrypt(bidder_id=who, key=text, reason=failure.reason)
        return Decrypt(bidder_id=who, key=text, bid=bid)

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.entries]

    def envelopes(self) -> dict[str, tuple[bytes, bytes]]:
        return {envelope_digest(s): (s.nonce, s.ciphertext) for s in self.sealed.values()}


def envelope_digest(sealed: Sealed) -> str:
    return digest(sealed.nonce, sealed.ciphertext)


def signed_in(bidders: str, min_bidders: int = 3, **more: Any) -> Opening:
    o = Opening.new(min_bidders, **more)
    o.enrol(bidders)
    for who in bidders:
        assert o.do(SignIn(bidder_id=who), DEADLINE - 60_000)["accepted"]
    o.do(Tick(), DEADLINE)
    return o


def decrypting(bidders: str, **more: Any) -> Opening:
    o = signed_in(bidders, **more)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    o.do(Advance(to="decryption"), DEADLINE + 2000)
    return o


def test_a_full_opening_with_failures_on_both_sides_an_objection_and_a_record() -> None:
    o = decrypting("abcd", backup_remedy="backup")
    window_end = DEADLINE + 2000 + WINDOW_S * 1000
    assert o.decrypt("a", DEADLINE + 10_000)["status"] == "decrypted"
    wrong = o.decrypt("b", DEADLINE + 11_000, key=bytes(32))
    seqs = {"seq": o.state.seq, "pseq": o.state.pseq}  # audit, and the public count so far
    assert wrong == {"accepted": True, **seqs, "status": "failed", "reason": "BAD_KEY"}
    assert o.decrypt("b", DEADLINE + 12_000)["status"] == "decrypted"  # a retry in the window
    assert o.do(Fault(plate="103", note="解密服务器故障"), DEADLINE + 13_000)["accepted"]
    # d never decrypts; the window closes on it (bidder side), c's fault is the platform's
    assert o.do(Advance(to="read_out"), DEADLINE + 14_000)["code"] == "NOT_READY"
    o.do(Tick(), window_end)
    failed = {e["plate"]: e for e in o.entries if e["kind"] == "decrypt_failed"}
    assert failed["104"]["side"] == "bidder" and failed["104"]["consequence"] == "撤销"
    assert failed["103"]["side"] == "platform" and failed["103"]["consequence"] == "撤回"
    backup = o.decrypt_command("c")
    cosigned = o.do(Cosign(plate="103"), window_end + 500)
    assert cosigned["accepted"], cosigned  # the supervisor agrees
    rescued = o.do(Backup(plate="103", key=backup.key, bid=backup.bid), window_end + 1000)
    assert rescued["status"] == "decrypted"
    assert o.do(Advance(to="read_out"), window_end + 2000)["accepted"]
    rows = {r["plate"]: r for r in o.entries[-1]["rows"]}
    assert {p: r["price"] for p, r in rows.items()} == {
        "101": BIDS["a"], "102": BIDS["b"], "103": BIDS["c"], "104": None
    }  # fmt: skip
    assert rows["104"]["status"] == "failed" and rows["104"]["consequence"] == "撤销"
    objected = o.do(Object(bidder_id="d", text="我方解密时平台无响应"), window_end + 3000)
    again = o.do(Object(bidder_id="d", text="再次异议"), window_end + 3100)
    assert again["code"] == "OBJECTION_OPEN"  # one open objection a bidder (review M7)
    assert o.do(Object(bidder_id="a", text="另一投标人"), window_end + 3200)["accepted"]
    o.do(Reply(objection_id=str(o.state.seq), text="已答复"), window_end + 3300)
    assert o.do(Advance(to="confirmation"), window_end + 4000)["accepted"]
    record = o.entries[-1]
    assert record["kind"] == "record"
    assert record["record_hash"] == opening_record.record_hash(record["record"])
    assert o.do(Advance(to="ended"), window_end + 5000)["code"] == "OBJECTION_OPEN"
    o.do(Reply(objection_id=objected["objection_id"], text="经核查为投标人本地网络原因"),
         window_end + 6000)  # fmt: skip
    assert o.do(Object(bidder_id="d", text="答复后可再提"), window_end + 6100)["accepted"]
    o.do(Reply(objection_id=str(o.state.seq), text="已答复"), window_end + 6200)
    for who in "abc":
        assert o.do(Confirm(bidder_id=who), window_end + 7000)["accepted"]
    assert o.do(Advance(to="ended"), window_end + 8000)["accepted"]
    assert o.do(Reopen(reason="复会：补充答复"), window_end + 9000)["accepted"]
    assert o.do(Confirm(bidder_id="a"), window_end + 9500)["accepted"]  # a new session
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state


def test_fewer_envelopes_than_min_bidders_aborts_at_the_deadline() -> None:
    o = Opening.new(min_bidders=3)
    o.enrol("ab")
    late = seal(OPENING, "a", {"price": 1}, None)
    answer = o.do(Submit(bidder_id="a", digest=envelope_digest(late), commitment=late.commitment,
                         size=1), DEADLINE)  # fmt: skip
    assert answer == {"accepted": False, "code": "PHASE_CLOSED"}
    assert o.state.phase == "aborted"
    assert o.entries[-2] == {**o.entries[-2], "phase": "aborted", "reason": "TOO_FEW_ENVELOPES"}
    assert o.state.tenderers["a"].envelope == envelope_digest(o.sealed["a"])  # not the late one


def test_too_few_signed_in_aborts_when_bidders_are_published() -> None:
    o = Opening.new(min_bidders=3)
    o.enrol("abc")
    o.do(SignIn(bidder_id="a"), DEADLINE - 1000)
    o.do(Tick(), DEADLINE)
    o.do(SignIn(bidder_id="b"), DEADLINE + 1000)
    o.do(Advance(), DEADLINE + 2000)
    assert o.state.phase == "aborted" and o.entries[-1]["reason"] == "TOO_FEW_SIGNED_IN"


REFUSALS: list[tuple[str, str, OpeningCommand, str]] = [
    ("signed_in", "sign-in twice", SignIn(bidder_id="a"), "ALREADY_SUBMITTED"),
    ("signed_in", "decrypt before the window", Decrypt(bidder_id="a", key="k", reason="BAD_KEY"),
     "PHASE_CLOSED"),
    ("signed_in", "skip a step", Advance(to="decryption"), "PHASE_CLOSED"),
    ("signed_in", "resume when not paused", Unpause(), "PHASE_CLOSED"),
    ("decrypting", "backup the tender does not name", Backup(plate="101", key="k", reason="X"),
     "NO_REMEDY"),
    ("decrypting", "co-sign a backup the tender does not name", Cosign(plate="101"), "NO_REMEDY"),
    ("decrypting", "confirm before the record", Confirm(bidder_id="a"), "PHASE_CLOSED"),
    ("decrypting", "object before the read-out", Object(bidder_id="a", text="x"), "PHASE_CLOSED"),
    ("decrypting", "reopen what has not ended", Reopen(reason="x"), "PHASE_CLOSED"),
]  # fmt: skip


@pytest.mark.parametrize(("at", "name", "command", "code"), REFUSALS, ids=[r[1] for r in REFUSALS])
def test_refusals_change_nothing_but_the_log(
    at: str, name: str, command: OpeningCommand, code: str
) -> None:
    o = signed_in("abc") if at == "signed_in" else decrypting("abc")
    before = o.state
    assert o.do(command, o.state.ts + 1) == {"accepted": False, "code": code}
    refused = o.entries[-1]
    assert refused["kind"] == "refused" and not refused["pub"] and refused["code"] == code
    assert o.state == replace(before, seq=o.state.seq, ts=o.state.ts)  # only the log moved
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state


def test_an_unknown_backup_remedy_is_refused_by_name() -> None:
    with pytest.raises(BadMessage) as caught:
        Opening.new(backup_remedy="open")
    assert caught.value.field == "backup_remedy"


def test_backup_needs_the_remedy_a_platform_fault_and_the_supervisor() -> None:
    """R10, probe O1: a key that failed its own commitment (the bidder's side, 撤销) was
    declared a platform fault by the host alone, and its envelope opened by backup."""
    o = decrypting("abc", backup_remedy="backup")
    at = DEADLINE + 10_000
    assert o.decrypt("b", at, key=bytes(32))["reason"] == "BAD_KEY"
    assert o.do(Fault(plate="102", note="平台原因"), at + 1)["code"] == "BIDDER_SIDE"
    assert o.do(Cosign(plate="102"), at + 2)["code"] == "NO_PLATFORM_FAULT"
    assert o.do(Cosign(plate="103"), at + 3)["code"] == "NO_PLATFORM_FAULT"  # none declared
    assert o.do(Fault(plate="103", note="解密服务器故障"), at + 4)["accepted"]
    rescue = o.decrypt_command("c")
    backup = Backup(plate="103", key=rescue.key, bid=rescue.bid)
    assert o.do(backup, at + 5)["code"] == "NEEDS_COSIGN"  # the host alone opens nothing
    assert o.do(Cosign(plate="103"), at + 6)["accepted"]
    assert o.do(Cosign(plate="103"), at + 7)["code"] == "ALREADY_SUBMITTED"
    assert o.do(backup, at + 8)["status"] == "decrypted"
    assert [e["kind"] for e in o.entries if e["pub"]][-3:] == ["fault", "cosigned", "decrypted"]
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state


def test_without_the_backup_remedy_a_platform_fault_withdraws_the_bid() -> None:
    o = decrypting("abc")  # backup_remedy "withdraw", the law's default (RULES §3.4)
    assert o.do(Fault(plate="103", note="解密服务器故障"), DEADLINE + 10_000)["accepted"]
    rescue = o.decrypt_command("c")
    backup = Backup(plate="103", key=rescue.key, bid=rescue.bid)
    assert o.do(backup, DEADLINE + 11_000)["code"] == "NO_REMEDY"
    o.do(Tick(), DEADLINE + 2000 + WINDOW_S * 1000)
    failed = next(e for e in o.entries if e["kind"] == "decrypt_failed" and e["plate"] == "103")
    assert (failed["side"], failed["consequence"]) == ("platform", "撤回")


def test_pausing_keeps_what_is_left_of_the_window() -> None:
    o = decrypting("abc")
    start = DEADLINE + 2000
    o.do(Pause(), start + 100_000)
    assert o.decrypt("a", start + 200_000) == {"accepted": False, "code": "PHASE_CLOSED"}
    o.do(Unpause(), start + 1_000_000)
    assert o.state.deadline == start + 1_000_000 + WINDOW_S * 1000 - 100_000
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state


def test_the_replay_finds_a_bid_that_is_not_what_the_envelope_holds() -> None:
    o = decrypting("abc")
    o.decrypt("a", DEADLINE + 10_000)
    forged = [dict(e) for e in o.entries]
    forged[-1]["bid"] = {**forged[-1]["bid"], "price": 1}
    with pytest.raises(Discrepancy):
        replay_opening(OPENING, forged, o.envelopes())


def test_an_envelope_opens_only_with_its_key_and_for_its_bidder() -> None:
    sealed = seal(OPENING, "a", {"price": 5, "quality": "合格"}, ("报价单.pdf", b"%PDF-1.7"))
    opened = open_envelope(OPENING, "a", sealed.commitment, sealed.nonce, sealed.ciphertext,
                           sealed.key)  # fmt: skip
    assert opened["price"] == 5 and opened["attachment"]["size"] == len(b"%PDF-1.7")
    with pytest.raises(EnvelopeFailure, match="BAD_KEY"):
        open_envelope(OPENING, "a", sealed.commitment, sealed.nonce, sealed.ciphertext, bytes(32))
    with pytest.raises(EnvelopeFailure, match="BAD_KEY"):  # the commitment names bidder a
        open_envelope(OPENING, "b", sealed.commitment, sealed.nonce, sealed.ciphertext, sealed.key)
    with pytest.raises(EnvelopeFailure, match="BAD_KEY"):
        decode_key("not base64!")


def test_the_state_survives_storage_as_plain_maps() -> None:
    o = decrypting("abc")
    o.decrypt("a", DEADLINE + 10_000)
    stored = msgpack.unpackb(msgpack.packb(state_to_map(o.state)), raw=False)
    assert state_from_map(stored) == o.state


def test_an_early_sign_in_is_private_until_the_deadline_names_it() -> None:
    """R4: three public sign-ins 25 minutes early told who had an envelope."""
    o = signed_in("abc")
    early = [e for e in o.entries if e["kind"] == "signed_in"]
    assert len(early) == 3 and not any(e["pub"] for e in early)
    opened = next(e for e in o.entries if e.get("phase") == "sign_in")
    assert opened["pub"] and opened["signed_in"] == ["101", "102", "103"]
    late = Opening.new()
    late.enrol("abcd")
    late.do(Tick(), DEADLINE)
    assert late.do(SignIn(bidder_id="d"), DEADLINE + 5)["accepted"]
    assert late.entries[-1]["kind"] == "signed_in" and late.entries[-1]["pub"]  # in sign-in: public
