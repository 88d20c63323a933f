"""投标保证金 at an opening (auction/opening/deposits.py): deposits count until the bidders
are published, which names each one's status, and the read-out announces it; a resend
counts once; an opening that asks for none logs as before; the log replays."""

from __future__ import annotations

from auction.opening.replay import replay_opening
from auction.opening.state import Advance, SignIn, TenderDeposit, Tick
from tests.auction.opening.test_rules import DEADLINE, OPENING, Opening, decrypting

DEPOSIT = 800_000_00  # 80 万元
EARLY = DEADLINE - 120_000


def paid(who: str, amount: int, ref: str, kind: str = "cash") -> TenderDeposit:
    return TenderDeposit(bidder_id=who, amount=amount, kind=kind, ref=ref, actor="bank-1")


def test_the_published_bidders_and_the_read_out_carry_each_deposit_status() -> None:
    o = Opening.new(3, deposit=DEPOSIT)
    o.enrol("abc")
    deposits = [paid("a", DEPOSIT // 2, "a1"), paid("a", DEPOSIT // 2, "a2"),
                paid("b", DEPOSIT, "b1", "guarantee"), paid("c", DEPOSIT - 1, "c1")]  # fmt: skip
    for command in deposits:
        assert o.do(command, EARLY)["accepted"]
    resent = o.do(paid("a", DEPOSIT // 2, "a2"), EARLY)
    assert (resent["total"], resent["status"]) == (DEPOSIT, "paid")  # counted once
    assert o.do(paid("b", 1, "a2"), EARLY)["code"] == "CONFLICT"  # another's ref
    for who in "abc":
        o.do(SignIn(bidder_id=who), DEADLINE - 60_000)
    o.do(Tick(), DEADLINE)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    published = next(e for e in o.entries if e.get("phase") == "bidders_published")
    assert [(b["plate"], b["deposit"]) for b in published["bidders"]] == [
        ("101", "paid"), ("102", "guarantee"), ("103", "none"),
    ]  # fmt: skip
    late = o.do(paid("c", 1, "c2"), DEADLINE + 1500)
    assert late["code"] == "PHASE_CLOSED" and o.entries[-1]["kind"] == "refused"
    o.do(Advance(to="decryption"), DEADLINE + 2000)
    for who in "abc":
        o.decrypt(who, DEADLINE + 3000)
    o.do(Advance(to="read_out"), DEADLINE + 4000)
    read_out = next(e for e in o.entries if e["kind"] == "read_out")
    assert [row["deposit"] for row in read_out["rows"]] == ["paid", "guarantee", "none"]
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state


def test_an_opening_that_asks_for_no_deposit_reads_as_before() -> None:
    o = decrypting("abc")
    published = next(e for e in o.entries if e.get("phase") == "bidders_published")
    assert all("deposit" not in b for b in published["bidders"])
    assert "deposit" not in o.entries[0]["config"]
