"""What each step of an opening writes and answers, entry by entry (auction/opening/rules.py
and record.py): the log is what `openbid verify` replays and what the public sees, so every
field, its `pub` flag and the answer's seq are held exactly here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from auction.errors import NotFound
from auction.log import Entry, EntryLog, Tick
from auction.opening import rules as opening
from auction.opening.config import OpeningConfig
from auction.opening.record import (
    RECORD_FORMAT,
    issue_record,
    objection,
    read_out_rows,
    record_hash,
)
from auction.opening.state import (
    Advance,
    Backup,
    Cosign,
    Decrypt,
    Fault,
    Object,
    OpeningCommand,
    OpeningPhase,
    OpeningState,
    Pause,
    RegisterTenderer,
    Reopen,
    Reply,
    SignIn,
    Submit,
    Tenderer,
    Unpause,
)
from tests.auction.opening.test_rules import (
    DEADLINE,
    WINDOW_S,
    Opening,
    decrypting,
)

OPENS = DEADLINE + 2000  # decrypting() opens the decryption window then
ENDS = OPENS + WINDOW_S * 1000
TITLE = "某道路工程施工"  # Opening.new's


def written(o: Opening, ts: int, *bodies: Entry) -> list[Entry]:
    """The entries one step writes after `o`'s state: numbered on by seq, and by pseq for
    the public ones (auction.log.EntryLog), each at `ts`."""
    seq, pseq, out = o.state.seq, o.state.pseq, []
    for body in bodies:
        seq, pseq = seq + 1, pseq + body["pub"]
        out.append({"seq": seq, "pseq": pseq, "ts": ts} | body)
    return out


def step(o: Opening, command: OpeningCommand, now: int) -> tuple[dict[str, Any], list[Entry]]:
    """Do `command`; its answer and the entries it wrote."""
    before = len(o.entries)
    answer = o.do(command, now)
    return answer, o.entries[before:]


def accepted(entry: Entry, **more: Any) -> dict[str, Any]:
    return {"accepted": True, "seq": entry["seq"], "pseq": entry["pseq"], **more}


# ---- registration ------------------------------------------------------------------------


def test_a_registration_is_private_and_makes_a_pending_tenderer() -> None:
    o = Opening.new()
    at = DEADLINE - 3_600_000
    expected = written(o, at, {"kind": "registered", "pub": False, "plate": "101",
                               "bidder_id": "a", "name": "甲公司"})  # fmt: skip
    answer, entries = step(o, RegisterTenderer(bidder_id="a", plate="101", name="甲公司"), at)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert o.state.tenderers == {"a": Tenderer(bidder_id="a", plate="101", name="甲公司")}


@pytest.mark.parametrize(
    ("command", "at", "answer", "kinds"),
    [
        (RegisterTenderer(bidder_id="a", plate="199", name="乙"), DEADLINE - 1,
         {"accepted": False, "code": "CONFLICT"}, []),
        (RegisterTenderer(bidder_id="z", plate="101", name="乙"), DEADLINE - 1,
         {"accepted": False, "code": "CONFLICT"}, []),
        (RegisterTenderer(bidder_id="z", plate="199", name="乙"), DEADLINE,
         {"accepted": False, "code": "PHASE_CLOSED"}, ["phase", "refused"]),
    ],
)  # fmt: skip
def test_a_taken_id_or_plate_conflicts_and_a_late_registration_is_refused(
    command: RegisterTenderer, at: int, answer: dict[str, Any], kinds: list[str]
) -> None:
    o = Opening.new(min_bidders=1)
    o.enrol("a")
    before = o.state.tenderers
    got, entries = step(o, command, at)
    assert got == answer and [e["kind"] for e in entries] == kinds
    assert o.state.tenderers == before


# ---- creation, envelopes, sign-in and the bid deadline ------------------------------------


def test_creating_an_opening_logs_its_config_in_public() -> None:
    config = OpeningConfig.parse({"title": "另一工程", "bid_deadline": 90_000,
                                  "decrypt_window_s": 60, "backup_remedy": "backup"})  # fmt: skip
    made = opening.create(config, 5000)
    assert made.entries == [{"seq": 1, "pseq": 1, "ts": 5000, "kind": "created", "pub": True,
                             "object": "opening", "config": config.as_map()}]  # fmt: skip
    assert made.answer == {"accepted": True, "seq": 1, "pseq": 1}
    assert made.state == OpeningState(config=config, deadline=90_000, seq=1, pseq=1, ts=5000)


def test_an_envelope_is_private_and_names_the_one_it_replaces() -> None:
    o = Opening.new()
    o.do(RegisterTenderer(bidder_id="a", plate="101", name="甲公司"), DEADLINE - 3_600_000)
    replaces = None
    for i, (envelope, committed) in enumerate([("d" * 64, "c" * 64), ("e" * 64, "f" * 64)]):
        now = DEADLINE - 60_000 + i
        expected = written(o, now, {"kind": "envelope", "pub": False, "plate": "101",
                                    "digest": envelope, "commitment": committed,
                                    "size": 4112 + i, "replaces": replaces})  # fmt: skip
        submit = Submit(bidder_id="a", digest=envelope, commitment=committed, size=4112 + i)
        answer, entries = step(o, submit, now)
        assert entries == expected
        assert answer == accepted(expected[0], digest=envelope)
        t = o.state.tenderers["a"]
        assert (t.envelope, t.commitment) == (envelope, committed)
        replaces = envelope


@pytest.mark.parametrize(
    ("now", "pub"), [(DEADLINE - 60_000, False), (DEADLINE + 5, True)], ids=["early", "in time"]
)
def test_a_sign_in_answers_with_its_entry(now: int, pub: bool) -> None:
    o = Opening.new()
    o.enrol("abc")
    o.do(Tick(), min(now, DEADLINE))
    expected = written(o, now, {"kind": "signed_in", "pub": pub, "plate": "102"})
    answer, entries = step(o, SignIn(bidder_id="b"), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert o.state.tenderers["b"].signed_in == now


@pytest.mark.parametrize(
    ("bidders", "early", "body"),
    [
        ("ab", "", {"phase": "aborted", "reason": "TOO_FEW_ENVELOPES", "count": 2}),
        ("abc", "ca", {"phase": "sign_in", "count": 3, "signed_in": ["101", "103"]}),
    ],
    ids=["too few envelopes", "enough"],
)
def test_the_bid_deadline_counts_the_envelopes_in_public(
    bidders: str, early: str, body: dict[str, Any]
) -> None:
    o = Opening.new(min_bidders=3)
    o.do(RegisterTenderer(bidder_id="x", plate="100", name="x公司"), DEADLINE - 3_600_000)
    o.enrol(bidders)  # x has no envelope: not counted
    for who in early:
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    expected = written(o, DEADLINE, {"kind": "phase", "pub": True} | body)  # at the deadline
    answer, entries = step(o, Tick(), DEADLINE + 5000)
    assert answer == {} and entries == expected
    assert (o.state.phase, o.state.deadline, o.state.ts) == (body["phase"], None, DEADLINE)


# ---- the host's steps --------------------------------------------------------------------


def test_publishing_names_who_signed_in_and_who_sent_an_envelope_but_did_not() -> None:
    o = Opening.new()
    o.do(RegisterTenderer(bidder_id="x", plate="100", name="x公司"), DEADLINE - 3_600_000)
    o.enrol("abcd")  # plates 101..104; x has no envelope, d will not sign in
    for who in "cab":
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    now = DEADLINE + 1000
    expected = written(o, now, {
        "kind": "phase", "pub": True, "command": "advance", "phase": "bidders_published",
        "bidders": [{"plate": "101", "name": "a公司"}, {"plate": "102", "name": "b公司"},
                    {"plate": "103", "name": "c公司"}],
        "not_signed_in": [{"plate": "104", "name": "d公司"}],
    })  # fmt: skip
    answer, entries = step(o, Advance(to="bidders_published"), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert o.state.phase == OpeningPhase.BIDDERS_PUBLISHED and o.state.deadline is None


def test_too_few_signed_in_aborts_the_opening_in_public() -> None:
    o = Opening.new(min_bidders=3)
    o.enrol("abc")
    for who in "ab":
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    now = DEADLINE + 1000
    expected = written(
        o,
        now,
        {
            "kind": "phase",
            "pub": True,
            "command": "advance",
            "phase": "aborted",
            "reason": "TOO_FEW_SIGNED_IN",
            "count": 2,
        },
    )
    answer, entries = step(o, Advance(), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert o.state.phase == OpeningPhase.ABORTED
    assert step(o, Advance(), now + 1)[0] == {"accepted": False, "code": "PHASE_CLOSED"}


def test_the_window_opens_for_its_configured_length() -> None:
    start = DEADLINE + 5000
    o = Opening.new()
    o.enrol("abc")
    for who in "abc":
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    expected = written(
        o,
        start,
        {
            "kind": "phase",
            "pub": True,
            "command": "advance",
            "phase": "decryption",
            "deadline": start + WINDOW_S * 1000,
        },
    )
    answer, entries = step(o, Advance(to="decryption"), start)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert (o.state.phase, o.state.deadline) == ("decryption", start + WINDOW_S * 1000)


def _all_decrypted() -> Opening:
    o = decrypting("abc")
    for i, who in enumerate("abc"):
        bid = {"price": 100 + i, "duration_days": 30 * (i + 1), "quality": "合格",
               "attachment": None}  # fmt: skip
        o.do(Decrypt(bidder_id=who, key=f"k{who}", bid=bid), OPENS + 1000 + i)
    return o


def _row(plate: str, name: str, status: str, bid: dict[str, Any] | None = None,
         side: str | None = None, consequence: str | None = None) -> dict[str, Any]:  # fmt: skip
    bid = bid or {}
    return {
        "plate": plate, "name": name, "status": status, "price": bid.get("price"),
        "duration_days": bid.get("duration_days"), "quality": bid.get("quality"),
        "attachment": bid.get("attachment"), "side": side, "consequence": consequence,
    }  # fmt: skip


def _decrypted_rows() -> list[dict[str, Any]]:
    return [
        _row(f"10{i + 1}", f"{who}公司", "decrypted",
             {"price": 100 + i, "duration_days": 30 * (i + 1), "quality": "合格"})
        for i, who in enumerate("abc")
    ]  # fmt: skip


def test_the_read_out_lists_the_rows_in_public_and_stops_a_paused_window() -> None:
    o = _all_decrypted()
    o.do(Pause(), OPENS + 5000)
    assert o.state.paused_left is not None
    now = OPENS + 6000
    expected = written(
        o, now,
        {"kind": "phase", "pub": True, "command": "advance", "phase": "read_out"},
        {"kind": "read_out", "pub": True, "rows": _decrypted_rows()},
    )  # fmt: skip
    answer, entries = step(o, Advance(to="read_out"), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert o.state.phase == OpeningPhase.READ_OUT
    assert o.state.deadline is None and o.state.paused_left is None


def test_the_record_is_issued_hashed_and_logged_in_public() -> None:
    o = _all_decrypted()
    o.do(Advance(to="read_out"), OPENS + 6000)
    now = OPENS + 7000
    record = {"format": RECORD_FORMAT, "title": TITLE, "bid_deadline": DEADLINE,
              "min_bidders": 3, "issued_at": now, "rows": _decrypted_rows()}  # fmt: skip
    expected = written(
        o, now,
        {"kind": "phase", "pub": True, "command": "advance", "phase": "confirmation",
         "session": 1},
        {"kind": "record", "pub": True, "record": record, "record_hash": record_hash(record)},
    )  # fmt: skip
    answer, entries = step(o, Advance(to="confirmation"), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert o.state.phase == "confirmation" and o.state.record_hash == record_hash(record)


def test_the_record_carries_the_opening_config_and_the_session() -> None:
    config = OpeningConfig.parse({"title": "另一工程", "bid_deadline": 5_000,
                                  "decrypt_window_s": 60, "min_bidders": 1})  # fmt: skip
    state = OpeningState(config=config, phase=OpeningPhase.READ_OUT, seq=7, pseq=4, ts=9000,
                         session=3)  # fmt: skip
    log = EntryLog(state)
    after, answer = issue_record(state, 10_000, log)
    record = {"format": "openbid-opening-record/1", "title": "另一工程", "bid_deadline": 5_000,
              "min_bidders": 1, "issued_at": 10_000, "rows": []}  # fmt: skip
    assert log.entries == [
        {"seq": 8, "pseq": 5, "ts": 10_000, "kind": "phase", "pub": True, "command": "advance",
         "phase": "confirmation", "session": 3},
        {"seq": 9, "pseq": 6, "ts": 10_000, "kind": "record", "pub": True, "record": record,
         "record_hash": record_hash(record)},
    ]  # fmt: skip
    assert answer == {"accepted": True, "seq": 8}
    assert after == replace(state, phase=OpeningPhase.CONFIRMATION,
                            record_hash=record_hash(record))  # fmt: skip


def test_the_opening_ends_in_public_naming_its_session() -> None:
    o = _all_decrypted()
    o.do(Advance(to="read_out"), OPENS + 6000)
    o.do(Advance(to="confirmation"), OPENS + 7000)
    now = OPENS + 8000
    expected = written(o, now, {"kind": "phase", "pub": True, "command": "advance",
                                "phase": "ended", "session": 1})  # fmt: skip
    answer, entries = step(o, Advance(to="ended"), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert o.state.phase == OpeningPhase.ENDED


def test_a_reopening_is_public_and_starts_the_next_session() -> None:
    o = _all_decrypted()
    o.do(Advance(to="read_out"), OPENS + 6000)
    o.do(Advance(to="confirmation"), OPENS + 7000)
    o.do(Advance(to="ended"), OPENS + 8000)
    now = OPENS + 9000
    expected = written(o, now, {"kind": "phase", "pub": True, "command": "reopen",
                                "phase": "confirmation", "session": 2,
                                "reason": "复会：补充答复"})  # fmt: skip
    answer, entries = step(o, Reopen(reason="复会：补充答复"), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert (o.state.phase, o.state.session) == (OpeningPhase.CONFIRMATION, 2)


# ---- pause and resume --------------------------------------------------------------------


def test_pause_and_resume_are_public_and_keep_what_was_left() -> None:
    o = decrypting("abc")
    paused_at, left = OPENS + 100_000, WINDOW_S * 1000 - 100_000
    expected = written(
        o,
        paused_at,
        {
            "kind": "phase",
            "pub": True,
            "command": "pause",
            "phase": "decryption",
            "paused": True,
            "left": left,
        },
    )
    answer, entries = step(o, Pause(), paused_at)
    assert entries == expected and answer == accepted(expected[0])
    assert (o.state.deadline, o.state.paused_left) == (None, left)
    resumed_at = paused_at + 3_600_000
    expected = written(o, resumed_at, {"kind": "phase", "pub": True, "command": "resume",
                                       "phase": "decryption", "paused": False,
                                       "deadline": resumed_at + left})  # fmt: skip
    answer, entries = step(o, Unpause(), resumed_at)
    assert entries == expected and answer == accepted(expected[0])
    assert (o.state.deadline, o.state.paused_left) == (resumed_at + left, None)


@pytest.mark.parametrize(
    ("before", "command"),
    [
        ([], Unpause()),  # not paused
        ([Pause()], Pause()),  # paused already
        ([Tick()], Pause()),  # the window has closed
        ([Tick()], Unpause()),
    ],
)
def test_pause_and_resume_only_where_they_mean_something(
    before: list[OpeningCommand], command: OpeningCommand
) -> None:
    o = decrypting("abc")
    for earlier in before:
        o.do(earlier, ENDS if isinstance(earlier, Tick) else OPENS + 1)
    state = o.state
    now = ENDS + 10 if state.window_closed else OPENS + 50
    assert o.do(command, now) == {"accepted": False, "code": "PHASE_CLOSED"}
    assert o.state == replace(state, seq=o.state.seq, ts=o.state.ts)


def test_a_paused_window_does_not_close_by_the_clock() -> None:
    o = decrypting("abc")
    o.do(Pause(), OPENS + 1)
    _, entries = step(o, Tick(), ENDS + 10)
    assert entries == [] and not o.state.window_closed
    assert o.do(Unpause(), ENDS + 20)["accepted"]
    assert o.state.deadline == ENDS + 20 + WINDOW_S * 1000 - 1


# ---- decryption --------------------------------------------------------------------------


def test_a_decrypted_bid_is_logged_with_its_key_and_opened() -> None:
    o = decrypting("abc")
    now, bid = OPENS + 1000, {"price": 4_198_000_000, "duration_days": 365}
    expected = written(o, now, {"kind": "decrypted", "pub": True, "plate": "102",
                                "via": "key", "key": "a2V5", "bid": bid})  # fmt: skip
    answer, entries = step(o, Decrypt(bidder_id="b", key="a2V5", bid=bid), now)
    assert entries == expected
    assert answer == accepted(expected[0], status="decrypted")
    assert o.state.tenderers["b"] == replace(
        o.state.tenderers["b"], status="decrypted", bid=bid, side=None
    )
    assert o.state.tenderers["b"].status == "decrypted"


@pytest.mark.parametrize(
    ("reason", "side", "consequence"),
    [
        ("BAD_KEY", "bidder", "撤销"),  # the bidder's key did not open its envelope
        ("CORRUPT", "bidder", "撤销"),
        ("STORAGE_MISMATCH", "platform", "撤回"),  # the store lost the envelope as uploaded
    ],
)
def test_a_failed_decryption_carries_its_side_and_consequence(
    reason: str, side: str, consequence: str
) -> None:
    o = decrypting("abc")
    now = OPENS + 1000
    expected = written(o, now, {"kind": "decrypt_failed", "pub": True, "plate": "101",
                                "via": "key", "key": "a2V5", "reason": reason, "side": side,
                                "consequence": consequence})  # fmt: skip
    answer, entries = step(o, Decrypt(bidder_id="a", key="a2V5", reason=reason), now)
    assert entries == expected
    assert answer == accepted(expected[0], status="failed", reason=reason)
    t = o.state.tenderers["a"]
    assert (t.status, t.side, t.bid) == ("failed", side, None)


def test_a_backup_decryption_is_logged_as_such() -> None:
    o = decrypting("abc", backup_remedy="backup")
    o.do(Fault(plate="103", note="解密服务器故障"), OPENS + 100)
    o.do(Cosign(plate="103"), OPENS + 200)
    now, bid = OPENS + 300, {"price": 1}
    expected = written(o, now, {"kind": "decrypted", "pub": True, "plate": "103",
                                "via": "backup", "key": "YmFr", "bid": bid})  # fmt: skip
    answer, entries = step(o, Backup(plate="103", key="YmFr", bid=bid), now)
    assert entries == expected
    assert answer == accepted(expected[0], status="decrypted")
    t = o.state.tenderers["c"]
    assert (t.status, t.side, t.cosigned, t.bid) == ("decrypted", "platform", True, bid)


def test_a_fault_is_public_and_puts_the_failure_on_the_platform() -> None:
    o = decrypting("abc")
    now = OPENS + 100
    expected = written(o, now, {"kind": "fault", "pub": True, "plate": "103", "side": "platform",
                                "consequence": "撤回", "note": "解密服务器故障"})  # fmt: skip
    answer, entries = step(o, Fault(plate="103", note="解密服务器故障"), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    t = o.state.tenderers["c"]
    assert (t.status, t.side, t.cosigned) == ("pending", "platform", False)


def test_a_cosignature_is_public_and_names_the_supervisor() -> None:
    o = decrypting("abc", backup_remedy="backup")
    o.do(Fault(plate="103", note="解密服务器故障"), OPENS + 100)
    now = OPENS + 200
    expected = written(o, now, {"kind": "cosigned", "pub": True, "plate": "103",
                                "by": "supervisor"})  # fmt: skip
    answer, entries = step(o, Cosign(plate="103"), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    t = o.state.tenderers["c"]
    assert (t.status, t.side, t.cosigned) == ("pending", "platform", True)


# ---- the window's close ------------------------------------------------------------------


def test_the_window_closes_on_everyone_still_pending_in_plate_order() -> None:
    o = Opening.new()
    o.enrol("abcd")
    o.do(RegisterTenderer(bidder_id="e", plate="105", name="e公司"), DEADLINE - 3_600_000)
    o.do(Submit(bidder_id="e", digest="e" * 64, commitment="c" * 64, size=1), DEADLINE - 1)
    for who in "edcb":  # a has an envelope and never signs in
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    o.do(Advance(to="decryption"), OPENS)
    o.do(Decrypt(bidder_id="c", key="k", bid={"price": 1}), OPENS + 1)
    o.do(Decrypt(bidder_id="b", key="k", reason="BAD_KEY"), OPENS + 2)  # may retry: pending
    o.do(Fault(plate="105", note="平台故障"), OPENS + 3)
    expected = written(
        o, ENDS,
        {"kind": "decrypt_failed", "pub": True, "plate": "102", "reason": "WINDOW_CLOSED",
         "side": "bidder", "consequence": "撤销"},
        {"kind": "decrypt_failed", "pub": True, "plate": "104", "reason": "WINDOW_CLOSED",
         "side": "bidder", "consequence": "撤销"},
        {"kind": "decrypt_failed", "pub": True, "plate": "105", "reason": "WINDOW_CLOSED",
         "side": "platform", "consequence": "撤回"},
        {"kind": "phase", "pub": True, "phase": "decryption", "window_closed": True},
    )  # fmt: skip
    answer, entries = step(o, Tick(), ENDS + 5)
    assert answer == {}
    assert entries == expected
    s = o.state
    assert (s.phase, s.deadline, s.window_closed) == ("decryption", None, True)
    assert {t.plate: (t.status, t.side) for t in s.tenderers.values()} == {
        "101": ("pending", None), "102": ("failed", "bidder"), "103": ("decrypted", None),
        "104": ("failed", "bidder"), "105": ("failed", "platform"),
    }  # fmt: skip


# ---- may_open: whether the server may open an envelope now --------------------------------


def _may_open_cases() -> list[tuple[str, Opening, OpeningCommand, int, bool]]:
    pending = decrypting("abc", backup_remedy="backup")
    paused = decrypting("abc")
    paused.do(Pause(), OPENS + 10)
    done = decrypting("abc")
    done.do(Decrypt(bidder_id="a", key="k", bid={"price": 1}), OPENS + 10)
    cosigned = decrypting("abc", backup_remedy="backup")
    cosigned.do(Fault(plate="101", note="平台故障"), OPENS + 10)
    cosigned.do(Cosign(plate="101"), OPENS + 20)
    key = Decrypt(bidder_id="a", key="k", reason="NOT_OPENED")
    backup = Backup(plate="101", key="k", reason="NOT_OPENED")
    return [
        ("in the window", pending, key, OPENS + 100, True),
        ("at its last moment", pending, key, ENDS - 1, True),
        ("once the window has passed by the clock", pending, key, ENDS, False),
        ("a clock behind the log's", pending, key, OPENS - 10_000, True),
        ("while paused", paused, key, OPENS + 100, False),
        ("a bid already opened", done, key, OPENS + 100, False),
        ("an unknown bidder", pending, Decrypt(bidder_id="zz", key="k", reason="X"),
         OPENS + 100, False),
        ("a backup nobody co-signed", pending, backup, OPENS + 100, False),
        ("a co-signed backup", cosigned, backup, OPENS + 100, True),
        ("a co-signed backup after the window", cosigned, backup, ENDS + 1, True),
    ]  # fmt: skip


MAY_OPEN = _may_open_cases()


@pytest.mark.parametrize(
    ("name", "o", "command", "now", "expected"), MAY_OPEN, ids=[c[0] for c in MAY_OPEN]
)
def test_the_server_opens_an_envelope_only_where_the_rules_take_its_decryption(
    name: str, o: Opening, command: Decrypt | Backup, now: int, expected: bool
) -> None:
    before = o.state
    assert opening.may_open(o.state, command, now) is expected
    assert o.state is before  # asking decides nothing


# ---- the read-out's rows -----------------------------------------------------------------


def test_the_read_out_rows_cover_every_envelope_in_plate_order() -> None:
    config = OpeningConfig.parse({"title": "t", "bid_deadline": 1, "decrypt_window_s": 1})
    bid = {"price": 7, "duration_days": 90, "quality": "优良",
           "attachment": {"name": "a.pdf", "size": 3, "sha256": "00" * 32}, "extra": 1}  # fmt: skip
    tenderers = [
        Tenderer(bidder_id="n", plate="100", name="无信封"),
        Tenderer(bidder_id="d", plate="106", name="丁", envelope="e", signed_in=5,
                 status="decrypted", bid=bid),
        Tenderer(bidder_id="b", plate="102", name="乙", envelope="e", signed_in=5,
                 status="decrypted", side="platform", bid={"price": 9}),
        Tenderer(bidder_id="f", plate="103", name="戊", envelope="e", signed_in=5,
                 status="failed", side="bidder"),
        Tenderer(bidder_id="p", plate="104", name="庚", envelope="e", signed_in=5,
                 status="failed", side="platform"),
        Tenderer(bidder_id="u", plate="105", name="未签", envelope="e"),
        Tenderer(bidder_id="q", plate="101", name="待", envelope="e", signed_in=5),
    ]  # fmt: skip
    state = OpeningState(config=config, tenderers={t.bidder_id: t for t in tenderers})
    assert read_out_rows(state) == [
        _row("101", "待", "pending"),
        _row("102", "乙", "decrypted", {"price": 9}),  # backup-opened: no failure shown
        _row("103", "戊", "failed", side="bidder", consequence="撤销"),
        _row("104", "庚", "failed", side="platform", consequence="撤回"),
        _row("105", "未签", "not_signed_in"),
        _row("106", "丁", "decrypted", {k: v for k, v in bid.items() if k != "extra"}),
    ]  # fmt: skip


# ---- objections and replies --------------------------------------------------------------


def _read_out() -> Opening:
    o = _all_decrypted()
    o.do(Advance(to="read_out"), OPENS + 6000)
    return o


def test_an_objection_is_public_and_named_by_its_seq() -> None:
    o = _read_out()
    now = OPENS + 7000
    oid = str(o.state.seq + 1)
    expected = written(o, now, {"kind": "objection", "pub": True, "plate": "102",
                                "objection_id": oid, "text": "报价有误"})  # fmt: skip
    answer, entries = step(o, Object(bidder_id="b", text="报价有误"), now)
    assert entries == expected
    assert answer == accepted(expected[0], objection_id=oid)
    assert o.state.objections == {oid: None}
    assert {t.bidder_id: t.objecting for t in o.state.tenderers.values()} == {
        "a": None, "b": oid, "c": None,
    }  # fmt: skip


def test_a_reply_is_public_and_frees_only_its_objector() -> None:
    o = _read_out()
    first = o.do(Object(bidder_id="a", text="一"), OPENS + 7000)["objection_id"]
    second = o.do(Object(bidder_id="c", text="二"), OPENS + 7100)["objection_id"]
    now = OPENS + 8000
    expected = written(o, now, {"kind": "reply", "pub": True, "objection_id": second,
                                "text": "已核实"})  # fmt: skip
    answer, entries = step(o, Reply(objection_id=second, text="已核实"), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert o.state.objections == {first: None, second: str(expected[0]["seq"])}
    assert {t.bidder_id: t.objecting for t in o.state.tenderers.values()} == {
        "a": first, "b": None, "c": None,
    }  # fmt: skip


def test_an_objection_needs_an_envelope_and_a_reply_a_known_objection() -> None:
    o = Opening.new()
    o.do(RegisterTenderer(bidder_id="x", plate="100", name="x公司"), DEADLINE - 3_600_000)
    o.enrol("abc")
    for who in "abc":
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    o.do(Advance(to="decryption"), OPENS)
    for who in "abc":
        o.do(Decrypt(bidder_id=who, key="k", bid={"price": 1}), OPENS + 1)
    o.do(Advance(to="read_out"), OPENS + 2)
    answer, entries = step(o, Object(bidder_id="x", text="异议"), OPENS + 3)
    assert answer == {"accepted": False, "code": "NO_ENVELOPE"}
    assert [(e["kind"], e["code"]) for e in entries] == [("refused", "NO_ENVELOPE")]
    unknown = Reply(objection_id="77", text="答复")
    assert o.do(unknown, OPENS + 4) == {"accepted": False, "code": "NOT_FOUND"}
    with pytest.raises(NotFound) as caught:
        objection(o.state, unknown, OPENS + 4, EntryLog(o.state))
    assert (caught.value.message_zh, caught.value.message_en) == (
        "未找到：objection", "Not found: objection",
    )  # fmt: skip
