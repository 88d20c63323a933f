"""The 开标记录表's hash and the bidders' confirmations of it (auction/opening/record.py).
The hash is published and recomputed by anyone holding the record, so its canonical form is
held byte for byte; a confirmation names the record and the session it confirms."""

from __future__ import annotations

import hashlib

import pytest

from auction.log import Tick
from auction.opening.record import record_hash
from auction.opening.state import (
    Advance,
    Confirm,
    RegisterTenderer,
    Reopen,
    SignIn,
)
from tests.auction.opening.test_rules import DEADLINE, Opening
from tests.auction.opening.test_steps import accepted, step, written

OPENS = DEADLINE + 2000


def test_the_record_hash_is_sha256_of_sorted_compact_utf8_json() -> None:
    record = {"title": "某工程", "rows": [{"price": 1, "name": "甲公司"}], "format": "f/1"}
    canonical = '{"format":"f/1","rows":[{"name":"甲公司","price":1}],"title":"某工程"}'
    assert record_hash(record) == hashlib.sha256(canonical.encode()).hexdigest()


def _issued() -> Opening:
    """A record issued: a, b, c decrypted; d sent an envelope and never signed in; x sent
    none."""
    o = Opening.new()
    o.do(RegisterTenderer(bidder_id="x", plate="100", name="x公司"), DEADLINE - 3_600_000)
    o.enrol("abcd")
    for who in "abc":
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    o.do(Advance(to="decryption"), OPENS)
    for who in "abc":
        o.decrypt(who, OPENS + 1000)
    o.do(Advance(to="read_out"), OPENS + 2000)
    o.do(Advance(to="confirmation"), OPENS + 3000)
    assert o.state.record_hash is not None
    return o


def _confirmed(o: Opening, who: str, plate: str, now: int, session: int) -> None:
    body = {"kind": "confirmed", "pub": True, "plate": plate, "session": session}
    expected = written(o, now, body | {"record_hash": o.state.record_hash})
    answer, entries = step(o, Confirm(bidder_id=who), now)
    assert entries == expected
    assert answer == accepted(expected[0])
    assert o.state.tenderers[who].confirmed == session


def test_a_confirmation_is_public_and_names_the_record_and_its_session() -> None:
    o = _issued()
    _confirmed(o, "b", "102", OPENS + 4000, session=1)
    assert o.do(Advance(to="ended"), OPENS + 5000)["accepted"]
    assert o.do(Reopen(reason="复会"), OPENS + 6000)["accepted"]
    _confirmed(o, "b", "102", OPENS + 7000, session=2)


@pytest.mark.parametrize("who", ["d", "x"], ids=["not signed in", "no envelope"])
def test_only_a_bidder_whose_bid_was_opened_confirms(who: str) -> None:
    o = _issued()
    before = o.state.tenderers[who]
    answer, entries = step(o, Confirm(bidder_id=who), OPENS + 4000)
    assert answer == {"accepted": False, "code": "NO_ENVELOPE"}
    assert [(e["kind"], e["code"]) for e in entries] == [("refused", "NO_ENVELOPE")]
    assert o.state.tenderers[who] == before


def test_a_confirmation_after_the_opening_ended_is_refused() -> None:
    o = _issued()
    o.do(Advance(to="ended"), OPENS + 4000)
    assert o.do(Confirm(bidder_id="a"), OPENS + 5000) == {"accepted": False, "code": "PHASE_CLOSED"}
