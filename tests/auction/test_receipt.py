"""Receipts as text: what a receipt says, byte for byte, and every way one can be wrong."""

from __future__ import annotations

import hashlib

import pytest

from auction.receipt import FORMAT, Receipt

RAW = b"\x85\xa3seq\x07"
BID = {"seq": 7, "ts": 1_764_633_600_000, "kind": "bid", "bid_id": "b-17", "price": 34_880_000}


def test_a_bid_s_receipt_names_its_entry_and_what_was_decided() -> None:
    receipt = Receipt.of("3fa2c0d1e9", RAW, BID)
    assert receipt == Receipt(log="3fa2c0d1e9", entry=hashlib.sha256(RAW).hexdigest(),
                              time=1_764_633_600_000, kind="bid", bid_id="b-17",
                              price=34_880_000)  # fmt: skip
    assert receipt.body() == (
        f'{FORMAT}\nlog "3fa2c0d1e9"\nentry "{hashlib.sha256(RAW).hexdigest()}"\n'
        'time 1764633600000\nkind "bid"\nbid_id "b-17"\nprice 34880000\n'
    )
    assert Receipt.parse(receipt.body()) == receipt


def test_a_sealed_bid_s_receipt_carries_the_price_its_bidder_sealed() -> None:
    sealed = {"ts": 5, "kind": "bid", "bid_id": "s", "sealed": "box"}
    assert Receipt.of("lot", RAW, sealed, price=41_000_000).price == 41_000_000
    assert Receipt.of("lot", RAW, BID, price=1).price == 34_880_000  # the logged one wins


def test_a_continue_s_receipt_has_no_bid_id_nor_price_lines() -> None:
    receipt = Receipt.of("lot", RAW, {"ts": 9, "kind": "continue"})
    assert (receipt.bid_id, receipt.price) == (None, None)
    assert "bid_id" not in receipt.body() and "price" not in receipt.body()
    assert receipt.body().endswith('kind "continue"\n')
    assert Receipt.parse(receipt.body()) == receipt


def test_a_name_with_a_line_break_stays_on_its_line() -> None:
    odd = Receipt.of("lot", RAW, BID | {"bid_id": "a\nb"})
    assert odd.body().count("\n") == 7 and Receipt.parse(odd.body()).bid_id == "a\nb"


@pytest.mark.parametrize(
    "body",
    ["", "openbid-receipt/2\nlog \"x\"\n", f"{FORMAT}\nlog \"x\"",
     f"{FORMAT}\nlog \"x\"\nlog \"y\"\nentry \"{'0' * 64}\"\ntime 1\nkind \"bid\"\n",
     f"{FORMAT}\nlog \"x\"\nwho \"me\"\nentry \"{'0' * 64}\"\ntime 1\nkind \"bid\"\n",
     f"{FORMAT}\nlog \"x\"\nentry \"{'0' * 64}\"\ntime 1\n",
     f"{FORMAT}\nlog \"x\"\nentry \"abc\"\ntime 1\nkind \"bid\"\n",
     f"{FORMAT}\nlog \"x\"\nentry \"{'0' * 64}\"\ntime \"1\"\nkind \"bid\"\n",
     f"{FORMAT}\nlog \"x\"\nentry \"{'0' * 64}\"\ntime nope\nkind \"bid\"\n"],
)  # fmt: skip
def test_what_is_not_a_receipt_is_refused(body: str) -> None:
    with pytest.raises(ValueError):
        Receipt.parse(body)


@pytest.mark.parametrize(
    ("logged", "holds"),
    [(BID, True), (BID | {"ts": 1}, False), (BID | {"kind": "accept"}, False),
     (BID | {"bid_id": "b-18"}, False), (BID | {"price": 34_880_001}, False),
     ({k: v for k, v in BID.items() if k != "price"} | {"sealed": "box"}, True)],
)  # fmt: skip
def test_a_receipt_matches_only_the_entry_that_says_the_same(
    logged: dict[str, object], holds: bool
) -> None:
    assert Receipt.of("lot", RAW, BID).matches(logged) is holds


def test_a_name_in_chinese_stays_as_it_is_written() -> None:
    receipt = Receipt.of("lot", RAW, BID | {"bid_id": "甲-1"})
    assert 'bid_id "甲-1"\n' in receipt.body()
    assert Receipt.parse(receipt.body()) == receipt


def test_a_value_with_spaces_is_read_whole() -> None:
    receipt = Receipt.of("lot one", RAW, BID | {"bid_id": "a b c"})
    assert Receipt.parse(receipt.body()) == receipt


ENTRY = f'entry "{"0" * 64}"'
WRONG: list[tuple[str, str, str]] = [
    ("another format", 'openbid-receipt/2\nlog "x"\n', f"not an {FORMAT}"),
    ("no final newline", Receipt.of("x", RAW, BID).body().rstrip("\n"), f"not an {FORMAT}"),
    ("a field twice", f'{FORMAT}\nlog "x"\nlog "y"\n{ENTRY}\ntime 1\nkind "bid"\n',
     "a receipt has no field 'log', or has it twice"),
    ("an unknown field", f'{FORMAT}\nlog "x"\nwho "me"\n{ENTRY}\ntime 1\nkind "bid"\n',
     "a receipt has no field 'who', or has it twice"),
    ("no kind", f'{FORMAT}\nlog "x"\n{ENTRY}\ntime 1\n', "a receipt misses a field"),
    ("a short entry", f'{FORMAT}\nlog "x"\nentry "abc"\ntime 1\nkind "bid"\n',
     "a receipt's entry is a SHA-256, its time an integer"),
    ("a time in text", f'{FORMAT}\nlog "x"\n{ENTRY}\ntime "1"\nkind "bid"\n',
     "a receipt's entry is a SHA-256, its time an integer"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "words"), [w[1:] for w in WRONG], ids=[w[0] for w in WRONG])
def test_what_is_not_a_receipt_is_refused_saying_why(body: str, words: str) -> None:
    with pytest.raises(ValueError) as refused:
        Receipt.parse(body)
    assert str(refused.value) == words
