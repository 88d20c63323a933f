"""A signed opening (config `signatures`; auction/opening/rules.py and replay.py): a
registration logs its bidder's `public_key`, and each envelope, sign-in, confirmation and
objection carries its bidder's signature (`sig`) on the entry it writes, and nowhere else.
`openbid verify` checks every signature against the registered key
(auction.signatures.check_opening_log) and rebuilds each command from its entry, so the log
the rules write passes both, and a log stripped of a key or a signature does not replay."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from auction.log import Entry, Tick
from auction.opening.envelope import seal
from auction.opening.replay import replay_opening
from auction.opening.state import (
    Advance,
    Confirm,
    Object,
    RegisterTenderer,
    Reply,
    SignIn,
    Submit,
)
from auction.signatures import check_opening_log, message
from tests.auction.opening.test_rules import BIDS, DEADLINE, OPENING, Opening, envelope_digest

OPENS = DEADLINE + 2000
EARLY = DEADLINE - 3_600_000
PLATES = {"a": "101", "b": "102", "c": "103"}
KEYS = {who: ec.generate_private_key(ec.SECP256R1()) for who in PLATES}


def pem(who: str) -> str:
    public = KEYS[who].public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def signed(who: str, command: str, **fields: Any) -> str:
    """`who`'s signature of `command` in this opening, as its browser makes it."""
    data = message(OPENING, PLATES[who], command, **fields)
    return base64.b64encode(KEYS[who].sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def signed_opening(signatures: str = "required") -> tuple[Opening, dict[tuple[str, str], str]]:
    """Three bidders with keys, every command of theirs signed, through to confirmation:
    b objects once, and each confirms the record. With the signatures made, by command and
    bidder."""
    o, made = Opening.new(signatures=signatures), {}

    def sign(who: str, command: str, **fields: Any) -> str:
        made[command, who] = signed(who, command, **fields)
        return made[command, who]

    for who, plate in PLATES.items():
        register = RegisterTenderer(bidder_id=who, plate=plate, name=f"{who}公司",
                                    public_key=pem(who))  # fmt: skip
        assert o.do(register, EARLY)["accepted"]
        sealed = o.sealed[who] = seal(OPENING, who, {"price": BIDS[who]}, None)
        found = {"digest": envelope_digest(sealed), "commitment": sealed.commitment}
        submit = Submit(bidder_id=who, size=len(sealed.ciphertext),
                        sig=sign(who, "envelope", **found), **found)  # fmt: skip
        assert o.do(submit, EARLY)["accepted"]
        assert o.do(SignIn(bidder_id=who, sig=sign(who, "sign_in")), DEADLINE - 60_000)["seq"]
    o.do(Tick(), DEADLINE)
    o.do(Advance(to="bidders_published"), DEADLINE + 1000)
    o.do(Advance(to="decryption"), OPENS)
    for who in PLATES:
        assert o.decrypt(who, OPENS + 1000)["status"] == "decrypted"
    o.do(Advance(to="read_out"), OPENS + 2000)
    objected = Object(bidder_id="b", text="报价有误", sig=sign("b", "object", text="报价有误"))
    objection_id = o.do(objected, OPENS + 3000)["objection_id"]
    o.do(Reply(objection_id=objection_id, text="已核实"), OPENS + 4000)
    o.do(Advance(to="confirmation"), OPENS + 5000)
    for who in PLATES:
        sig = sign(who, "confirm", record_hash=o.state.record_hash)
        assert o.do(Confirm(bidder_id=who, sig=sig), OPENS + 6000)["accepted"]
    return o, made


SIGNED_OPENING, SIGS = signed_opening()


def fields(entry: Entry) -> Entry:
    """An entry without its numbers and time."""
    return {k: v for k, v in entry.items() if k not in ("seq", "pseq", "ts")}


def test_a_bidder_s_key_and_signatures_are_on_its_own_entries() -> None:
    o = SIGNED_OPENING
    sealed = o.sealed["a"]
    found = {"digest": envelope_digest(sealed), "commitment": sealed.commitment}
    assert [fields(e) for e in o.entries if e.get("plate") == "101" and not e["pub"]] == [
        {"kind": "registered", "pub": False, "plate": "101", "bidder_id": "a", "name": "a公司",
         "public_key": pem("a")},
        {"kind": "envelope", "pub": False, "plate": "101", **found,
         "size": len(sealed.ciphertext), "replaces": None, "sig": SIGS["envelope", "a"]},
        {"kind": "signed_in", "pub": False, "plate": "101", "sig": SIGS["sign_in", "a"]},
    ]  # fmt: skip
    confirmed = next(e for e in o.entries if e["kind"] == "confirmed" and e["plate"] == "101")
    assert fields(confirmed) == {"kind": "confirmed", "pub": True, "plate": "101", "session": 1,
                                 "record_hash": o.state.record_hash,
                                 "sig": SIGS["confirm", "a"]}  # fmt: skip
    objection = next(e for e in o.entries if e["kind"] == "objection")
    assert (objection["plate"], objection["sig"]) == ("102", SIGS["object", "b"])
    signed_kinds = [e["kind"] for e in o.entries if "sig" in e]
    assert signed_kinds == ["envelope", "signed_in"] * 3 + ["objection"] + ["confirmed"] * 3


def test_verify_holds_every_signature_the_rules_log() -> None:
    assert check_opening_log(OPENING, SIGNED_OPENING.entries) == len(SIGS) == 10


@pytest.mark.parametrize("signatures", ["required", "optional"])
def test_a_signed_opening_replays_keys_and_signatures_included(signatures: str) -> None:
    """The replay hands the logged key and signatures back to the rules, which log them
    again: an honest signed log replays to the state the rules reached."""
    o = SIGNED_OPENING if signatures == "required" else signed_opening(signatures)[0]
    assert replay_opening(OPENING, o.entries, o.envelopes()) == o.state
