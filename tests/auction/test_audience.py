"""Who sees what of a log (auction/audience.py): the public never sees a private entry, a
`bid_id`, an opening's key or bid, nor the audit `seq`; a bidder sees its own entries in
full, numbered in the public sequence; staff see every entry as the audit log has it."""

from __future__ import annotations

from typing import Any

import pytest

from auction.audience import (
    admin_event,
    audience,
    bidder_answer,
    bidder_event,
    entry_view,
    public_event,
)

# Bidder 101's public bid: the 7th entry of the audit log, the 4th public one.
BID: dict[str, Any] = {
    "seq": 7, "pseq": 4, "ts": 1_000, "kind": "bid", "pub": True,
    "plate": "101", "price": 35_380_000, "bid_id": "b-7",
}  # fmt: skip
# Bidder 101's deposit: private, it follows the 4th public entry.
DEPOSIT: dict[str, Any] = {
    "seq": 8, "pseq": 4, "ts": 1_001, "kind": "deposit", "pub": False,
    "plate": "101", "amount": 10_000_000,
}  # fmt: skip
# An opening's decrypted envelope: public, but its key and bid stay hidden until 唱标.
DECRYPTED: dict[str, Any] = {
    "seq": 12, "pseq": 9, "ts": 2_000, "kind": "decrypted", "pub": True,
    "plate": "T1", "key": "ab" * 16, "bid": {"price": 1_234}, "tenderer": "T1",
}  # fmt: skip
# A lot entry with no bidder (the clock closing the lot).
CLOSED: dict[str, Any] = {"seq": 13, "pseq": 5, "ts": 3_000, "kind": "closed", "pub": True}

# What each audience sees of them, written out.
BID_PUBLIC: dict[str, Any] = {
    "seq": 4, "ts": 1_000, "kind": "bid", "plate": "101", "price": 35_380_000,
}  # fmt: skip
BID_OWN: dict[str, Any] = BID_PUBLIC | {"bid_id": "b-7"}
BID_ADMIN: dict[str, Any] = {
    "seq": 7, "pseq": 4, "ts": 1_000, "kind": "bid",
    "plate": "101", "price": 35_380_000, "bid_id": "b-7",
}  # fmt: skip
DEPOSIT_OWN: dict[str, Any] = {
    "seq": 4, "ts": 1_001, "kind": "deposit", "plate": "101",
    "amount": 10_000_000, "private": True,
}  # fmt: skip
DEPOSIT_ADMIN: dict[str, Any] = {
    "seq": 8, "pseq": 4, "ts": 1_001, "kind": "deposit", "plate": "101", "amount": 10_000_000,
}  # fmt: skip
DECRYPTED_PUBLIC: dict[str, Any] = {
    "seq": 9, "ts": 2_000, "kind": "decrypted", "plate": "T1", "tenderer": "T1",
}  # fmt: skip
DECRYPTED_OWN: dict[str, Any] = DECRYPTED_PUBLIC | {"key": "ab" * 16, "bid": {"price": 1_234}}
CLOSED_PUBLIC: dict[str, Any] = {"seq": 5, "ts": 3_000, "kind": "closed"}

PUBLIC_VIEWS: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    ("public bid: seq is pseq, no bid_id", BID, BID_PUBLIC),
    ("private deposit is hidden", DEPOSIT, None),
    ("an opening's key and bid are hidden", DECRYPTED, DECRYPTED_PUBLIC),
    ("entry with no bidder", CLOSED, CLOSED_PUBLIC),
    ("an entry without pub is private", {"seq": 1, "pseq": 0, "kind": "created"}, None),
]


@pytest.mark.parametrize(
    ("entry", "view"), [c[1:] for c in PUBLIC_VIEWS], ids=[c[0] for c in PUBLIC_VIEWS]
)
def test_public_event(entry: dict[str, Any], view: dict[str, Any] | None) -> None:
    assert public_event(entry) == view


BIDDER_VIEWS: list[tuple[str, dict[str, Any], str, dict[str, Any] | None]] = [
    ("own public bid keeps its bid_id", BID, "101", BID_OWN),
    ("own deposit: private, at the public count", DEPOSIT, "101", DEPOSIT_OWN),
    ("another's bid as the public sees it", BID, "102", BID_PUBLIC),
    ("another's deposit is hidden", DEPOSIT, "102", None),
    ("own envelope with its key and bid", DECRYPTED, "T1", DECRYPTED_OWN),
    ("another's envelope without them", DECRYPTED, "T2", DECRYPTED_PUBLIC),
    ("entry with no bidder", CLOSED, "101", CLOSED_PUBLIC),
]


@pytest.mark.parametrize(
    ("entry", "plate", "view"), [c[1:] for c in BIDDER_VIEWS], ids=[c[0] for c in BIDDER_VIEWS]
)
def test_bidder_event(entry: dict[str, Any], plate: str, view: dict[str, Any] | None) -> None:
    assert bidder_event(entry, plate) == view


@pytest.mark.parametrize(
    ("entry", "view"),
    [
        (BID, BID_ADMIN),
        (DEPOSIT, DEPOSIT_ADMIN),
        (DECRYPTED, {k: v for k, v in DECRYPTED.items() if k != "pub"}),
        (CLOSED, {"seq": 13, "pseq": 5, "ts": 3_000, "kind": "closed"}),
    ],
)
def test_staff_see_every_entry_with_its_audit_numbers(
    entry: dict[str, Any], view: dict[str, Any]
) -> None:
    assert admin_event(entry) == view


AUDIENCES: list[tuple[str, str | None, str | None, str]] = [
    ("admin", None, "101", "admin"),
    ("admin", None, None, "admin"),
    ("supervisor", None, "101", "admin"),
    ("supervisor", "101", "101", "admin"),
    ("bidder", "101", "101", "own"),
    ("bidder", "101", "102", "public"),
    ("bidder", "101", None, "public"),
    ("public", None, "101", "public"),
    ("public", None, None, "public"),  # a viewer with no plate owns no plate-less entry
    ("host", None, "101", "public"),  # only admin and supervisor read the audit log
]


@pytest.mark.parametrize(("role", "plate", "entry_plate", "key"), AUDIENCES)
def test_audience(role: str, plate: str | None, entry_plate: str | None, key: str) -> None:
    assert audience(role, plate, entry_plate) == key


ENTRY_VIEWS: list[tuple[dict[str, Any], str, dict[str, Any] | None]] = [
    (DEPOSIT, "admin", DEPOSIT_ADMIN),
    (DEPOSIT, "own", DEPOSIT_OWN),
    (DEPOSIT, "public", None),
    (BID, "admin", BID_ADMIN),
    (BID, "own", BID_OWN),
    (BID, "public", BID_PUBLIC),
    (DECRYPTED, "own", DECRYPTED_OWN),
    (DECRYPTED, "public", DECRYPTED_PUBLIC),
]


@pytest.mark.parametrize(("entry", "key", "view"), ENTRY_VIEWS)
def test_entry_view(entry: dict[str, Any], key: str, view: dict[str, Any] | None) -> None:
    assert entry_view(entry, key) == view


@pytest.mark.parametrize(
    ("answer", "seen"),
    [
        (
            {"accepted": True, "seq": 9, "pseq": 4, "bid_id": "b-7"},
            {"accepted": True, "seq": 4, "bid_id": "b-7"},
        ),
        ({"accepted": False, "code": "TOO_LOW"}, {"accepted": False, "code": "TOO_LOW"}),
        ({"accepted": True, "seq": 3}, {"accepted": True, "seq": 3}),
    ],
)
def test_bidder_answer_counts_in_the_public_sequence(
    answer: dict[str, Any], seen: dict[str, Any]
) -> None:
    assert bidder_answer(answer) == seen
