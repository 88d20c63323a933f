"""Names and payment references as the log keeps them: keyed, deterministic, one-way."""

from __future__ import annotations

import hashlib
import hmac

from auction.lot.blinding import FORMAT, blind, blinding_key, unblinds

SECRET = bytes(range(32))


def test_a_lot_s_key_comes_from_the_secret_and_the_lot() -> None:
    key = blinding_key(SECRET, "3fa2c0d1e9")
    assert key == hmac.new(SECRET, FORMAT + b"|3fa2c0d1e9", hashlib.sha256).digest()
    assert key != blinding_key(SECRET, "3fa2c0d1ea") != blinding_key(bytes(32), "3fa2c0d1e9")


def test_a_value_blinds_the_same_way_each_time_and_differently_by_field_and_key() -> None:
    key = blinding_key(SECRET, "lot")
    name = blind(key, "name", "甲公司")
    expected = hmac.new(key, "name\0甲公司".encode(), hashlib.sha256).hexdigest()[:48]
    assert name == "h:" + expected and len(name) == 50
    assert blind(key, "name", "甲公司") == name
    assert blind(key, "ref", "甲公司") != name
    assert blind(blinding_key(SECRET, "other"), "name", "甲公司") != name
    assert blind(key, "name", "乙公司") != name


def test_a_clear_value_unblinds_as_a_name_or_a_ref_and_nothing_else() -> None:
    key = blinding_key(SECRET, "lot")
    assert unblinds(key, blind(key, "name", "甲"), "甲")
    assert unblinds(key, blind(key, "ref", "icbc-7"), "icbc-7")
    assert not unblinds(key, blind(key, "name", "甲"), "乙")
    assert not unblinds(blinding_key(SECRET, "x"), blind(key, "name", "甲"), "甲")
    assert not unblinds(key, blind(key, "other", "甲"), "甲")
