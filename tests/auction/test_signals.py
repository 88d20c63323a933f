"""The collusion signals: what each flag needs, and what must not raise one."""

from __future__ import annotations

import pytest

from auction.signals import Flag, Trace, device_of, flags, never_outbid, price_flags, shared


def trace(bidder: str, action: str = "bid", **seen: str) -> Trace:
    return Trace(bidder=bidder, action=action, ts=len(bidder), **seen)


Kinds = list[tuple[str, tuple[str, ...]]]


def kinds(found: list[Flag]) -> Kinds:
    return [(f.kind, f.bidders) for f in found]


def test_one_address_used_by_two_bidders_is_flagged_with_every_use() -> None:
    traces = [trace("1", address="10.0.0.7"), trace("2", "deposit", address="10.0.0.7"),
              trace("2", address="10.0.0.8"), trace("3", address="10.0.0.9")]  # fmt: skip
    (flag,) = shared(traces, "address")
    assert (flag.kind, flag.bidders) == ("shared_address", ("1", "2"))
    assert flag.evidence["address"] == "10.0.0.7"
    assert [a["action"] for a in flag.evidence["actions"]] == ["bid", "deposit"]


@pytest.mark.parametrize(
    ("traces", "expected"),
    [
        ([trace("1", address="a"), trace("1", address="a")], []),  # one bidder, twice
        ([trace("1", device="d"), trace("2", device="d")], [("shared_device", ("1", "2"))]),
        ([trace("1", "deposit", payer="6222"), trace("2", "deposit", payer="6222")],
         [("shared_payer", ("1", "2"))]),
        ([trace("1"), trace("2")], []),  # nothing seen, nothing shared
    ],
)  # fmt: skip
def test_only_a_value_two_bidders_share_is_flagged(traces: list[Trace], expected: Kinds) -> None:
    assert kinds(flags(traces)) == expected


def test_envelopes_sealed_on_one_machine_are_flagged_besides_the_shared_device() -> None:
    traces = [trace("1", "envelope", device="pc"), trace("2", "envelope", device="pc"),
              trace("3", "sign_in", device="pc")]  # fmt: skip
    found = kinds(flags(traces))
    assert ("envelopes_one_machine", ("1", "2")) in found  # the sign-in is no envelope
    assert ("shared_device", ("1", "2", "3")) in found


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        ({"1": 100, "2": 100, "3": 250}, [("identical_prices", ("1", "2"))]),
        ({"1": 100, "2": 110, "3": 120}, [("price_progression", ("1", "2", "3"))]),
        ({"1": 100, "2": 110, "3": 125}, []),  # no common step
        ({"1": 100, "2": 110}, []),  # two prices are no progression
        ({"1": 100, "2": 110, "3": 120, "4": 130, "5": 200},
         [("price_progression", ("1", "2", "3", "4"))]),  # the longest run, once
        ({"1": 300, "2": 100, "3": 200, "4": 400, "5": 250},
         [("price_progression", ("1", "3", "5"))]),  # neighbours: not 100 ... 400 round 250
        ({"1": 100, "2": 200, "3": 300, "4": 310, "5": 320},
         [("price_progression", ("1", "2", "3")), ("price_progression", ("3", "4", "5"))]),
    ],
)  # fmt: skip
def test_sealed_prices(prices: dict[str, int], expected: Kinds) -> None:
    assert kinds(price_flags(prices)) == expected


def test_a_progression_names_its_prices_and_step() -> None:
    (flag,) = price_flags({"a": 9_000, "b": 9_300, "c": 9_600})
    assert flag.evidence == {"prices": [9_000, 9_300, 9_600], "step": 300}


@pytest.mark.parametrize(
    ("bids", "expected"),
    [
        (["A", "B", "A", "B"], []),  # they compete
        (["A", "C", "B", "C", "A", "C", "B", "C"], [("never_outbid", ("A", "B"))]),
        (["A", "C", "B", "C"], []),  # A and B bid once each: too few to say
        (["A", "B", "C", "A", "C", "B"], []),  # B outbid A once
    ],
)  # fmt: skip
def test_two_active_bidders_who_never_outbid_each_other(bids: list[str], expected: Kinds) -> None:
    assert kinds(never_outbid(bids)) == expected


def test_every_flag_serialises_with_its_evidence() -> None:
    (flag,) = never_outbid(["A", "C", "B", "C", "A", "C", "B", "C"])
    assert flag.as_dict() == {"kind": "never_outbid", "bidders": ["A", "B"],
                              "evidence": {"bids": {"A": 2, "B": 2}}}  # fmt: skip


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("dev_7f3a-BROWSER", "dev_7f3a-BROWSER"),
        ("a" * 64, "a" * 64),
        ("a" * 65, None),  # too long
        ("", None),
        ("bad device!", None),
        ("设备", None),
        ("dev\n", None),
        (42, None),
        (None, None),
    ],
)
def test_a_device_is_kept_only_when_well_formed(sent: object, kept: str | None) -> None:
    assert device_of(sent) == kept
