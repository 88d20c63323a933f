"""What lots and openings share (auction/log.py): a step's entries numbered in the audit and
the public sequences, the audit log's hash chain, and the replay loop that finds the first
entry where a log and the rules disagree."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from auction.errors import BadMessage
from auction.log import Discrepancy, Entry, EntryLog, genesis, link, replay_steps


@dataclass(frozen=True, slots=True, kw_only=True)
class Counted:
    """The part of a state a step's log numbers on from."""

    seq: int
    pseq: int
    ts: int
    name: str = "lot"


def test_entries_are_numbered_on_in_both_sequences_and_never_go_back_in_time() -> None:
    log = EntryLog(Counted(seq=10, pseq=4, ts=5_000))
    assert log.add(4_000, "deposit", False, bidder_id="b1") == 11
    assert log.add(6_000, "bid", True, price=35_000_000) == 12
    assert log.add(6_500, "refused", False, code="TOO_LOW") == 13
    assert log.add(7_000, "bid", True, price=35_500_000) == 14
    assert log.entries == [
        {"seq": 11, "pseq": 4, "ts": 5_000, "kind": "deposit", "pub": False, "bidder_id": "b1"},
        {"seq": 12, "pseq": 5, "ts": 6_000, "kind": "bid", "pub": True, "price": 35_000_000},
        {"seq": 13, "pseq": 5, "ts": 6_500, "kind": "refused", "pub": False, "code": "TOO_LOW"},
        {"seq": 14, "pseq": 6, "ts": 7_000, "kind": "bid", "pub": True, "price": 35_500_000},
    ]
    assert log.stamp(Counted(seq=10, pseq=4, ts=5_000, name="L1")) == Counted(
        seq=14, pseq=6, ts=7_000, name="L1"
    )


def test_a_step_that_writes_nothing_stamps_the_state_unchanged() -> None:
    state = Counted(seq=3, pseq=2, ts=900)
    log = EntryLog(state)
    assert log.entries == []
    assert log.stamp(state) == state


def _two_entry_log() -> EntryLog:
    log = EntryLog(Counted(seq=10, pseq=4, ts=0))
    log.add(1, "deposit", False)  # seq 11, pseq 4
    log.add(2, "bid", True)  # seq 12, pseq 5
    return log


@pytest.mark.parametrize(
    ("answer", "given"),
    [
        ({"accepted": True, "seq": 12}, {"accepted": True, "seq": 12, "pseq": 5}),
        ({"accepted": True, "seq": 11}, {"accepted": True, "seq": 11, "pseq": 4}),
        # an entry of an earlier step (a resent bid_id's first answer): left as it is
        ({"accepted": True, "seq": 10}, {"accepted": True, "seq": 10}),
        ({"accepted": False, "code": "TOO_LOW"}, {"accepted": False, "code": "TOO_LOW"}),
        ({"seq": 12, "pseq": 2}, {"seq": 12, "pseq": 2}),  # already given: kept
    ],
)
def test_with_pseq(answer: dict[str, object], given: dict[str, object]) -> None:
    assert _two_entry_log().with_pseq(answer) == given


def test_with_pseq_of_a_step_that_wrote_nothing() -> None:
    log = EntryLog(Counted(seq=10, pseq=4, ts=0))
    assert log.with_pseq({"accepted": True, "seq": 10}) == {"accepted": True, "seq": 10}


def test_the_hash_chain_is_the_documented_one() -> None:
    # h_0 = sha256("openbid-audit-v1:" + log_id), h_n = sha256(h_{n-1} || entry_n)
    h0 = genesis("L-2024-001")
    assert h0 == hashlib.sha256(b"openbid-audit-v1:L-2024-001").hexdigest()
    raw = b'{"seq":1,"kind":"created"}'
    h1 = link(h0, raw)
    assert h1 == hashlib.sha256(bytes.fromhex(h0) + raw).hexdigest()
    assert link(h1, b"x") == hashlib.sha256(bytes.fromhex(h1) + b"x").hexdigest()
    assert genesis("L-2024-002") != h0
    assert link(h0, raw + b" ") != h1


def test_a_discrepancy_names_its_seq() -> None:
    error = Discrepancy(7, "logged bid, the rules write refused")
    assert (error.seq, str(error)) == (7, "seq 7: logged bid, the rules write refused")


# A toy set of rules: the state counts the commands decided; each entry's `kind` says what
# the logged command was, and the rules write `kind` once, or "pair" as two entries.
def decide(state: int, entry: Entry) -> tuple[int, list[Entry]]:
    kind = entry["kind"]
    if kind == "bad":
        raise BadMessage("price", "须为正整数", "must be a positive integer")
    if kind == "silent":
        return state + 1, []
    if kind == "pair":
        return state + 1, [{"seq": entry.get("seq"), "kind": "pair"}, {"kind": "pair-2"}]
    return state + 1, [{"seq": entry.get("seq"), "kind": kind}]


CREATED: Entry = {"seq": 1, "kind": "created"}


def test_replay_decides_each_group_in_turn() -> None:
    entries: list[Entry] = [
        CREATED,
        {"seq": 2, "kind": "bid"},
        {"seq": 3, "kind": "pair"},
        {"kind": "pair-2"},
        {"seq": 5, "kind": "bid"},
    ]
    assert replay_steps(0, entries, decide) == 3  # three commands: the pair is one group
    assert replay_steps(0, [CREATED], decide) == 0


DISCREPANCIES: list[tuple[str, list[Entry], int, str]] = [
    (
        "a logged command the rules refuse to read",
        [CREATED, {"seq": 2, "kind": "bid"}, {"seq": 3, "kind": "bad"}],
        3,
        "seq 3: logged {'seq': 3, 'kind': 'bad'}: price: must be a positive integer",
    ),
    (
        "refused after a deleted entry: named by its own seq",
        [CREATED, {"seq": 2, "kind": "bid"}, {"seq": 4, "kind": "bad"}],
        4,
        "seq 4: logged {'seq': 4, 'kind': 'bad'}: price: must be a positive integer",
    ),
    (
        "refused, an entry without seq: its position",
        [CREATED, {"kind": "bad"}],
        2,
        "seq 2: logged {'kind': 'bad'}: price: must be a positive integer",
    ),
    (
        "refused, the third entry without seq",
        [CREATED, {"seq": 2, "kind": "bid"}, {"kind": "bad"}],
        3,
        "seq 3: logged {'kind': 'bad'}: price: must be a positive integer",
    ),
    (
        "the rules write something else",
        [CREATED, {"seq": 2, "kind": "bid", "price": 5}],
        2,
        "seq 2: logged {'seq': 2, 'kind': 'bid', 'price': 5}, "
        "the rules write {'seq': 2, 'kind': 'bid'}",
    ),
    (
        "the rules write nothing",
        [CREATED, {"seq": 2, "kind": "silent"}],
        2,
        "seq 2: logged {'seq': 2, 'kind': 'silent'}, the rules write nothing",
    ),
    (
        "differs after a deleted entry: named by its own seq",
        [CREATED, {"seq": 2, "kind": "bid"}, {"seq": 4, "kind": "silent"}],
        4,
        "seq 4: logged {'seq': 4, 'kind': 'silent'}, the rules write nothing",
    ),
    (
        "differs, an entry without seq: its position",
        [CREATED, {"seq": 2, "kind": "bid"}, {"kind": "silent"}],
        3,
        "seq 3: logged {'kind': 'silent'}, the rules write nothing",
    ),
    (
        "the log ends inside the group the rules write",
        [CREATED, {"seq": 2, "kind": "pair"}],
        2,
        "seq 2: logged {'seq': 2, 'kind': 'pair'}, the rules write {'seq': 2, 'kind': 'pair'}",
    ),
]


@pytest.mark.parametrize(
    ("entries", "seq", "message"), [d[1:] for d in DISCREPANCIES], ids=[d[0] for d in DISCREPANCIES]
)
def test_replay_stops_at_the_first_discrepancy(
    entries: list[Entry], seq: int, message: str
) -> None:
    with pytest.raises(Discrepancy) as raised:
        replay_steps(0, entries, decide)
    assert (raised.value.seq, str(raised.value)) == (seq, message)


def test_a_command_s_signature_goes_on_its_first_signed_entry_alone() -> None:
    """The deposit a bid may write first is no bidder's command: the signature waits for
    the bid, and the entry after the bid has none."""
    log = EntryLog(Counted(seq=0, pseq=0, ts=0))
    log.signing = "c2lnbmF0dXJl"
    log.add(1, "deposit", False)
    log.add(1, "bid", True, price=5)
    log.add(1, "bid", True, price=6)
    assert [entry.get("sig") for entry in log.entries] == [None, "c2lnbmF0dXJl", None]
    assert log.entries[1] == {"seq": 2, "pseq": 1, "ts": 1, "kind": "bid", "pub": True,
                              "price": 5, "sig": "c2lnbmF0dXJl"}  # fmt: skip
    assert log.signing is None


@pytest.mark.parametrize(
    "kind", ["bid", "indicator", "continue", "accept", "envelope", "signed_in", "confirmed",
             "objection"],
)  # fmt: skip
def test_every_signed_kind_takes_the_signature(kind: str) -> None:
    log = EntryLog(Counted(seq=0, pseq=0, ts=0))
    log.signing = "sig"
    log.add(1, kind, True)
    assert log.entries == [{"seq": 1, "pseq": 1, "ts": 1, "kind": kind, "pub": True, "sig": "sig"}]
