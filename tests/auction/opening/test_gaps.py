"""The opening rules where mutation testing found no test would notice a broken rule
(`../shared/reviews/mutation.md`, O01–O19): each test names the gaps it closes. Openings are
decided by the Python rules alone, so these are the project's only guard for them."""

from __future__ import annotations

from auction.log import Tick
from auction.opening.replay import replay_opening
from auction.opening.state import (
    Advance,
    Confirm,
    Decrypt,
    Fault,
    Object,
    Pause,
    RegisterTenderer,
    Reopen,
    Reply,
    SignIn,
    Unpause,
)
from tests.auction.opening.test_rules import (
    BIDS,
    DEADLINE,
    OPENING,
    WINDOW_S,
    Opening,
    decrypting,
    signed_in,
)

WINDOW_OPENS = DEADLINE + 2000  # decrypting() opens the window then
WINDOW_ENDS = WINDOW_OPENS + WINDOW_S * 1000


def failed_plates(o: Opening) -> set[str]:
    return {e["plate"] for e in o.entries if e["kind"] == "decrypt_failed"}


def test_the_window_closes_on_the_pending_only() -> None:
    """O01, O02, O07: who decrypted stays decrypted, who never signed in is no failure."""
    o = Opening.new()
    o.enrol("abcd")
    for who in "abc":  # d has an envelope and never signs in
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    o.do(Advance(to="decryption"), WINDOW_OPENS)
    assert o.decrypt("a", WINDOW_OPENS + 1000)["status"] == "decrypted"
    o.do(Tick(), WINDOW_ENDS)
    assert failed_plates(o) == {"102", "103"}
    statuses = {t.plate: t.status for t in o.state.tenderers.values()}
    assert statuses == {"101": "decrypted", "102": "failed", "103": "failed", "104": "pending"}
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state


def test_the_read_out_waits_while_everyone_is_pending_and_stops_the_clock() -> None:
    """O05, O13: 唱标 cannot cut the window short while a bidder may still decrypt; once
    everyone has, the read-out stops the window's clock."""
    o = decrypting("abc")
    assert o.do(Advance(to="read_out"), WINDOW_OPENS + 1)["code"] == "NOT_READY"
    for who in "abc":
        o.decrypt(who, WINDOW_OPENS + 1000)
    assert o.do(Advance(to="read_out"), WINDOW_OPENS + 2000)["accepted"]
    assert o.state.deadline is None
    o.do(Tick(), WINDOW_ENDS + 1)  # the old window's end passes: nothing happens
    assert o.state.phase == "read_out" and failed_plates(o) == set()


def test_the_read_out_lists_every_plate_after_one_without_an_envelope() -> None:
    """O12: a tenderer registered without an envelope stopped the read-out's list."""
    o = Opening.new()
    o.do(RegisterTenderer(bidder_id="x", plate="100", name="x公司"), DEADLINE - 3_600_000)
    o.enrol("abc")
    for who in "abc":
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    o.do(Advance(to="decryption"), WINDOW_OPENS)
    for who in "abc":
        o.decrypt(who, WINDOW_OPENS + 1000)
    o.do(Advance(to="read_out"), WINDOW_OPENS + 2000)
    rows = {r["plate"]: r["price"] for r in o.entries[-1]["rows"]}
    assert rows == {"101": BIDS["a"], "102": BIDS["b"], "103": BIDS["c"]}


def test_pause_only_in_the_window_and_resume_lets_bidders_decrypt() -> None:
    """O10, O11, O03: pause outside decryption or twice is refused; after resume bidders
    decrypt again; after the window nobody does, and nothing pauses."""
    early = signed_in("abc")
    assert early.do(Pause(), DEADLINE + 100)["code"] == "PHASE_CLOSED"
    o = decrypting("abc")
    assert o.do(Pause(), WINDOW_OPENS + 100)["accepted"]
    assert o.do(Pause(), WINDOW_OPENS + 200)["code"] == "PHASE_CLOSED"
    assert o.do(Unpause(), WINDOW_OPENS + 300)["accepted"]
    assert o.decrypt("a", WINDOW_OPENS + 400)["status"] == "decrypted"
    o.do(Tick(), o.state.deadline or 0)
    assert o.state.window_closed
    assert o.decrypt("b", o.state.ts + 1)["code"] == "PHASE_CLOSED"
    assert o.do(Pause(), o.state.ts + 2)["code"] == "PHASE_CLOSED"


def test_sign_in_only_in_its_window_and_only_with_an_envelope() -> None:
    """O04, O19: sign-in before its window, after 公布投标人, or without an envelope."""
    o = Opening.new()
    o.enrol("abc")
    o.do(RegisterTenderer(bidder_id="x", plate="100", name="x公司"), DEADLINE - 3_600_000)
    opens = DEADLINE - o.state.config.sign_in_before_s * 1000
    assert o.do(SignIn(bidder_id="a"), opens - 1)["code"] == "PHASE_CLOSED"
    assert o.do(SignIn(bidder_id="a"), opens)["accepted"]  # its first moment
    assert o.do(SignIn(bidder_id="x"), opens + 1)["code"] == "NO_ENVELOPE"
    for who in "bc":
        o.do(SignIn(bidder_id=who), opens + 2)
    o.do(Tick(), DEADLINE)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    late = Opening.new()
    late.enrol("abcd")
    for who in "abc":
        late.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    late.do(Tick(), DEADLINE)
    late.do(Advance(to="bidders_published"), DEADLINE + 1000)
    assert late.do(SignIn(bidder_id="d"), DEADLINE + 2000)["code"] == "PHASE_CLOSED"


def test_an_opened_bid_stays_opened() -> None:
    """O06, O09: a second decryption (with a wrong key, a way to withdraw) and a fault
    for a bidder that already decrypted are refused."""
    o = decrypting("abc")
    assert o.decrypt("a", WINDOW_OPENS + 1000)["status"] == "decrypted"
    again = o.decrypt("a", WINDOW_OPENS + 2000, key=bytes(32))
    assert again["code"] == "ALREADY_SUBMITTED"
    assert o.do(Fault(plate="101", note="x"), WINDOW_OPENS + 3000)["code"] == "ALREADY_SUBMITTED"
    assert o.state.tenderers["a"].status == "decrypted"


def test_refusals_outside_the_rules_paths() -> None:
    """O14, O18, O19: a taken plate or id, an unknown plate, decryption and confirmation
    without an envelope, a fault outside decryption."""
    o = Opening.new()
    o.enrol("abc")
    taken = o.do(RegisterTenderer(bidder_id="z", plate="101", name="z"), DEADLINE - 3_000_000)
    assert taken["code"] == "CONFLICT"
    again = o.do(RegisterTenderer(bidder_id="a", plate="199", name="a2"), DEADLINE - 3_000_000)
    assert again["code"] == "CONFLICT"
    assert o.state.tenderers["a"].plate == "101" and o.state.tenderers["a"].envelope
    o.do(RegisterTenderer(bidder_id="x", plate="100", name="x公司"), DEADLINE - 3_000_000)
    for who in "abc":
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    assert o.do(Fault(plate="101", note="x"), DEADLINE + 1)["code"] == "PHASE_CLOSED"
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    o.do(Advance(to="decryption"), WINDOW_OPENS)
    assert o.do(Fault(plate="999", note="x"), WINDOW_OPENS + 1)["code"] == "NOT_FOUND"
    none = o.do(Decrypt(bidder_id="x", key="k", reason="BAD_KEY"), WINDOW_OPENS + 2)
    assert none["code"] == "NO_ENVELOPE"
    assert o.do(Fault(plate="100", note="x"), WINDOW_OPENS + 3)["code"] == "NO_ENVELOPE"


def test_objections_are_answered_one_by_one_and_confirmations_once_a_session() -> None:
    """O15, O16, O17, O19: one reply answers one objection (and only once); a bidder
    confirms once a session; 复会 opens the next session."""
    o = decrypting("abc")
    for who in "abc":
        o.decrypt(who, WINDOW_OPENS + 1000)
    o.do(Advance(to="read_out"), WINDOW_OPENS + 2000)
    first = o.do(Object(bidder_id="a", text="价格有误"), WINDOW_OPENS + 3000)
    second = o.do(Object(bidder_id="b", text="工期有误"), WINDOW_OPENS + 3100)
    assert first["objection_id"] != second["objection_id"]
    reply = Reply(objection_id=first["objection_id"], text="已核实")
    assert o.do(reply, WINDOW_OPENS + 3200)["accepted"]
    assert o.do(reply, WINDOW_OPENS + 3300)["code"] == "ALREADY_SUBMITTED"
    assert o.do(Advance(to="confirmation"), WINDOW_OPENS + 4000)["accepted"]
    assert o.do(Advance(to="ended"), WINDOW_OPENS + 4100)["code"] == "OBJECTION_OPEN"
    o.do(Reply(objection_id=second["objection_id"], text="已核实"), WINDOW_OPENS + 4200)
    assert o.do(Confirm(bidder_id="a"), WINDOW_OPENS + 5000)["accepted"]
    assert o.do(Confirm(bidder_id="a"), WINDOW_OPENS + 5100)["code"] == "ALREADY_SUBMITTED"
    assert o.do(Advance(to="ended"), WINDOW_OPENS + 6000)["accepted"]
    assert o.do(Reopen(reason="复会"), WINDOW_OPENS + 7000)["accepted"]
    assert o.state.session == 2
    assert o.do(Confirm(bidder_id="b"), WINDOW_OPENS + 7100)["accepted"]  # never confirmed
    assert o.do(Confirm(bidder_id="a"), WINDOW_OPENS + 7200)["accepted"]  # a new session
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state
