"""Bidders' signatures without a server: the message, byte for byte; the keys a lot takes;
a signature as WebCrypto or a CA gives it; and the check of every signature a log holds."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from tongsuopy.crypto import hashes as sm_hashes
from tongsuopy.crypto import serialization as sm_serialization
from tongsuopy.crypto.asymciphers import ec as sm_ec

from auction.errors import BadMessage
from auction.log import Discrepancy
from auction.signatures import PublicKey, check_lot_log, check_opening_log, message

P256 = ec.generate_private_key(ec.SECP256R1())
P256_PEM = (
    P256.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
SM2 = sm_ec.generate_private_key(sm_ec.SM2())
SM2_PEM = (
    SM2.public_key()
    .public_bytes(sm_serialization.Encoding.PEM, sm_serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def p256_raw(data: bytes) -> str:
    r, s = decode_dss_signature(P256.sign(data, ec.ECDSA(hashes.SHA256())))
    return base64.b64encode(r.to_bytes(32) + s.to_bytes(32)).decode()


def p256_der(data: bytes) -> str:
    return base64.b64encode(P256.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def sm2_der(data: bytes) -> str:
    return base64.b64encode(SM2.sign(data, sm_ec.ECDSA(sm_hashes.SM3()))).decode()


def test_the_message_names_the_lot_the_plate_the_command_and_its_fields() -> None:
    assert message(
        "3fa2c0d1e9", "4821", "bid", bid_id="b-17", price=34_880_000, indicator=None
    ) == (
        b'openbid-sig/1\nvenue 3fa2c0d1e9\nplate 4821\ncommand bid\nbid_id "b-17"\nprice 34880000\n'
    )
    assert (
        message("lot", "1", "continue") == b"openbid-sig/1\nvenue lot\nplate 1\ncommand continue\n"
    )
    assert message("lot", "1", "bid", bid_id="甲") == (
        'openbid-sig/1\nvenue lot\nplate 1\ncommand bid\nbid_id "甲"\n'.encode()
    )


@pytest.mark.parametrize(("pem", "algorithm"), [(P256_PEM, "p256"), (SM2_PEM, "sm2")])
def test_a_p256_or_an_sm2_key_loads(pem: str, algorithm: str) -> None:
    assert PublicKey.load(pem).algorithm == algorithm


def _pem(key: Any) -> str:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    found: str = key.public_key().public_bytes(serialization.Encoding.PEM, spki).decode()
    return found


@pytest.mark.parametrize(
    "pem",
    [None, 7, "", "not a key", "x" * 5000, _pem(ec.generate_private_key(ec.SECP384R1())),
     _pem(ed25519.Ed25519PrivateKey.generate()),
     "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"],
)  # fmt: skip
def test_any_other_key_is_refused_naming_the_field(pem: object) -> None:
    with pytest.raises(BadMessage) as refused:
        PublicKey.load(pem)
    assert refused.value.field == "public_key"


def test_a_signature_holds_for_its_message_and_key_alone() -> None:
    data = message("lot", "1", "bid", bid_id="b", price=1)
    p256, sm2 = PublicKey.load(P256_PEM), PublicKey.load(SM2_PEM)
    assert p256.verify(data, p256_raw(data)) and p256.verify(data, p256_der(data))
    assert sm2.verify(data, sm2_der(data))
    other = message("lot", "1", "bid", bid_id="b", price=2)
    assert not p256.verify(other, p256_raw(data)) and not sm2.verify(other, sm2_der(data))
    assert not p256.verify(data, sm2_der(data)) and not sm2.verify(data, p256_der(data))


@pytest.mark.parametrize(
    "sig", [None, 5, "", "!!!", "A" * 201, base64.b64encode(b"\x00" * 64).decode(),
            base64.b64encode(b"not der").decode()],
)  # fmt: skip
def test_what_is_no_signature_does_not_hold(sig: object) -> None:
    data = message("lot", "1", "continue")
    assert not PublicKey.load(P256_PEM).verify(data, sig)
    assert not PublicKey.load(SM2_PEM).verify(data, sig)


def _log(mode: str, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    created = {"seq": 1, "kind": "created", "signatures": mode}
    registered = {"seq": 2, "kind": "registered", "plate": "4821", "public_key": P256_PEM}
    return [created, registered, *({"seq": 3 + i} | e for i, e in enumerate(entries))]


def _bid(price: int, **more: Any) -> dict[str, Any]:
    data = message("lot", "4821", "bid", bid_id="b", price=price)
    return {
        "kind": "bid",
        "plate": "4821",
        "bid_id": "b",
        "price": price,
        "sig": p256_raw(data),
    } | more


def test_every_signature_of_a_log_is_checked() -> None:
    cont = {
        "kind": "continue",
        "plate": "4821",
        "sig": p256_raw(message("lot", "4821", "continue")),
    }
    accept = {
        "kind": "accept",
        "plate": "4821",
        "price": 9,
        "sig": p256_raw(message("lot", "4821", "accept")),
    }
    signed = p256_raw(message("lot", "4821", "bid", bid_id="i", indicator=3))
    indicator = {"kind": "indicator", "plate": "4821", "bid_id": "i", "indicator": 3,
                 "sig": signed}  # fmt: skip
    assert check_lot_log("lot", _log("required", _bid(100), cont, accept, indicator)) == 4
    assert check_lot_log("lot", _log("off")) == 0
    assert check_lot_log("lot", []) == 0
    assert (
        check_lot_log(
            "lot", _log("optional", {"kind": "bid", "plate": "4821", "bid_id": "u", "price": 1})
        )
        == 0
    )


@pytest.mark.parametrize(
    ("mode", "entry", "at"),
    [("required", {"kind": "bid", "plate": "4821", "bid_id": "u", "price": 1}, 3),
     ("required", {"kind": "continue", "plate": "4821"}, 3),
     ("optional", _bid(100) | {"price": 101}, 3),
     ("optional", _bid(100) | {"plate": "9999"}, 3),
     ("optional", {"kind": "accept", "plate": "4821",
                   "sig": p256_raw(message("other", "4821", "accept"))}, 3)],
)  # fmt: skip
def test_a_missing_or_false_signature_is_a_discrepancy_at_its_entry(
    mode: str, entry: dict[str, Any], at: int
) -> None:
    with pytest.raises(Discrepancy) as found:
        check_lot_log("lot", _log(mode, entry))
    assert found.value.seq == at


def test_a_sealed_bid_s_signature_is_checked_once_its_price_is_revealed() -> None:
    sealed = _bid(700) | {"sealed": "box"}
    del sealed["price"]
    assert check_lot_log("lot", _log("required", sealed)) == 0  # not opened yet
    revealed = {"kind": "revealed", "rows": [["4821", 700, 3]], "void": []}
    assert check_lot_log("lot", _log("required", sealed, revealed)) == 1
    lied = {"kind": "revealed", "rows": [], "void": [["4821", 701, 3]]}
    with pytest.raises(Discrepancy):
        check_lot_log("lot", _log("required", sealed, lied))


def _refusal(pem: object) -> tuple[str, str]:
    with pytest.raises(BadMessage) as refused:
        PublicKey.load(pem)
    assert refused.value.field == "public_key"
    zh, en = (refused.value.to_dict(lang)["message"] for lang in ("zh", "en"))
    assert isinstance(zh, str) and isinstance(en, str)
    return zh, en


# a key on sect163k1 (made by `openssl ecparam -name sect163k1 -genkey`), a curve neither
# `cryptography` nor Tongsuo takes
SECT163K1_PEM = """-----BEGIN PUBLIC KEY-----
MEAwEAYHKoZIzj0CAQYFK4EEAAEDLAAEBxkJTE61i8fouCftI3BhwsdQUHYTBSl5
Ek7zZvmOfJhTHivCHiiznpNd
-----END PUBLIC KEY-----
"""


NOT_PEM = ("public_key: 须为 PEM 格式的公钥", "public_key: must be a public key in PEM")
UNREADABLE = ("public_key: 公钥无法读取", "public_key: cannot be read as PEM")
NOT_OURS = ("public_key: 须为 P-256 或 SM2 公钥", "public_key: must be a P-256 or SM2 key")

REFUSED_KEYS: list[tuple[str, object, tuple[str, str]]] = [
    ("no text", 7, NOT_PEM),
    ("past the size limit", P256_PEM + "\n" * (4097 - len(P256_PEM)), NOT_PEM),
    ("not PEM", "not a key", UNREADABLE),
    ("at the size limit but not PEM", "x" * 4096, UNREADABLE),
    ("a P-384 key", _pem(ec.generate_private_key(ec.SECP384R1())), NOT_OURS),
    ("an Ed25519 key", _pem(ed25519.Ed25519PrivateKey.generate()), NOT_OURS),
]


@pytest.mark.parametrize(
    ("pem", "words"), [r[1:] for r in REFUSED_KEYS], ids=[r[0] for r in REFUSED_KEYS]
)
def test_a_refused_key_says_why_in_both_languages(pem: object, words: tuple[str, str]) -> None:
    assert _refusal(pem) == words


def test_a_key_on_a_curve_neither_library_knows_cannot_be_read() -> None:
    """`cryptography` does not know the curve, so the key goes to Tongsuo, which does not
    know it either."""
    assert _refusal(SECT163K1_PEM) == UNREADABLE


def test_a_key_of_exactly_the_size_limit_loads() -> None:
    padded = P256_PEM + "\n" * (4096 - len(P256_PEM))
    assert PublicKey.load(padded).algorithm == "p256"


@pytest.mark.parametrize("stray", ["!", " ", "\n", "."])
def test_a_signature_with_a_stray_character_does_not_hold(stray: str) -> None:
    data = message("lot", "1", "continue")
    for key, sig in ((P256_PEM, p256_der(data)), (P256_PEM, p256_raw(data)),
                     (SM2_PEM, sm2_der(data))):  # fmt: skip
        assert PublicKey.load(key).verify(data, sig)
        assert not PublicKey.load(key).verify(data, sig[:8] + stray + sig[8:])


def test_a_non_ascii_field_is_signed_as_utf_8_not_escaped() -> None:
    assert message("lot", "1", "object", text="异议") == (
        'openbid-sig/1\nvenue lot\nplate 1\ncommand object\ntext "异议"\n'.encode()
    )


def test_a_log_without_a_mode_checks_what_is_signed_only() -> None:
    """Only "required" makes an unsigned command a discrepancy."""
    unsigned = {"kind": "bid", "plate": "4821", "bid_id": "u", "price": 1}
    for created in (
        {"seq": 1, "kind": "created"},
        {"seq": 1, "kind": "created", "signatures": "off"},
    ):
        log = [created, *_log("off", unsigned, _bid(100))[1:]]
        assert check_lot_log("lot", log) == 1


def test_the_check_goes_on_past_an_unsigned_or_unopened_command() -> None:
    unsigned = {"kind": "bid", "plate": "4821", "bid_id": "u", "price": 1}
    sealed = _bid(700) | {"sealed": "box"}
    del sealed["price"]
    cont = {"kind": "continue", "plate": "4821",
            "sig": p256_raw(message("lot", "4821", "continue"))}  # fmt: skip
    assert check_lot_log("lot", _log("optional", unsigned, cont)) == 1
    assert check_lot_log("lot", _log("optional", sealed, cont)) == 1
    assert check_lot_log("lot", _log("required", sealed, cont)) == 1


@pytest.mark.parametrize(
    ("mode", "entries", "at", "words"),
    [("required", [{"kind": "continue", "plate": "4821"}], 3, "seq 3: an unsigned command "),
     ("optional", [{"kind": "continue", "plate": "4821"}, _bid(100) | {"price": 101}], 4,
      "seq 4: a bidder's signature does not hold"),
     ("optional", [_bid(100) | {"plate": "9999"}], 3, "seq 3: a bidder's signature does not hold")],
)  # fmt: skip
def test_a_discrepancy_says_what_is_wrong_with_the_signature(
    mode: str, entries: list[dict[str, Any]], at: int, words: str
) -> None:
    with pytest.raises(Discrepancy) as found:
        check_lot_log("lot", _log(mode, *entries))
    assert found.value.seq == at
    assert str(found.value).startswith(words)


def _opening_log(mode: str | None, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    config = {"title": "t"} | ({"signatures": mode} if mode else {})
    created = {"seq": 1, "kind": "created", "config": config}
    registered = {"seq": 2, "kind": "registered", "plate": "101", "public_key": P256_PEM}
    return [created, registered, *({"seq": 3 + i} | e for i, e in enumerate(entries))]


def _opening_entry(kind: str, command: str, **fields: Any) -> dict[str, Any]:
    signed = p256_raw(message("op1", "101", command, **fields))
    return {"kind": kind, "plate": "101", "sig": signed} | fields


def test_every_signature_of_an_opening_s_log_is_checked() -> None:
    entries = [
        _opening_entry("envelope", "envelope", digest="ab" * 32, commitment="cd" * 32),
        _opening_entry("signed_in", "sign_in"),
        _opening_entry("confirmed", "confirm", record_hash="ef" * 32),
        _opening_entry("objection", "object", text="报价有误"),
    ]
    assert check_opening_log("op1", _opening_log("required", *entries)) == 4
    assert check_opening_log("op1", _opening_log(None)) == 0
    assert check_opening_log("op1", []) == 0
    unsigned = {"kind": "signed_in", "plate": "101"}
    assert check_opening_log("op1", _opening_log("optional", unsigned)) == 0
    with pytest.raises(Discrepancy) as missing:
        check_opening_log("op1", _opening_log("required", unsigned))
    assert missing.value.seq == 3
    moved = _opening_entry("objection", "object", text="原文") | {"text": "改过"}
    with pytest.raises(Discrepancy, match="signature does not hold") as false:
        check_opening_log("op1", _opening_log("optional", entries[0], moved))
    assert false.value.seq == 4
    with pytest.raises(Discrepancy):  # another opening's signature
        check_opening_log("op2", _opening_log("optional", entries[1]))
