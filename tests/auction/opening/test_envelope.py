"""What an envelope opens to, and what it refuses (auction/opening/envelope.py): the checks
`openbid verify` runs again on every exported envelope, so a bid the envelope does not hold
as the format says is the bidder's BAD_CONTENT, a key that is not 32 base64 bytes its BAD_KEY.
The commitment and the sealed plaintext are held byte for byte: the browser (seal.js) makes
them too, and a commitment that differs from its would refuse every honest key."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from auction.opening.envelope import (
    MAX_PRICE,
    PAD_FLOOR,
    EnvelopeFailure,
    attachment_of,
    commitment,
    decode_key,
    digest,
    open_envelope,
    seal,
)

OPENING, BIDDER = "op1", "t1"
AAD = b"openbid-envelope/1|op1|t1"  # what seal.js binds in: format, opening, bidder
KEY, NONCE = bytes(range(32)), bytes(range(12))
PDF = b"%PDF-1.7 \xe6\x8a\xa5\xe4\xbb\xb7"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def opened(plaintext: bytes) -> dict[str, Any]:
    """Seal `plaintext` as a browser would, then open it with its own key."""
    ciphertext = AESGCM(KEY).encrypt(NONCE, plaintext, AAD)
    made = commitment(OPENING, BIDDER, KEY, digest(NONCE, ciphertext))
    return open_envelope(OPENING, BIDDER, made, NONCE, ciphertext, KEY)


def failure(make: Any) -> str:
    with pytest.raises(EnvelopeFailure) as caught:
        make()
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


def bid(**given: Any) -> dict[str, Any]:
    return {"price": 1, "duration_days": None, "quality": None, "attachment": None} | given


# ---- what an envelope opens to -------------------------------------------------------------

OPENS: list[tuple[str, object, dict[str, Any]]] = [
    ("the lowest price alone", {"price": 1}, bid()),
    ("the highest price, a zero duration, the longest quality",
     {"price": MAX_PRICE, "duration_days": 0, "quality": "合" * 500},
     bid(price=MAX_PRICE, duration_days=0, quality="合" * 500)),
    ("a full bid", {"price": 41_980_000_00, "duration_days": MAX_PRICE, "quality": "合格"},
     bid(price=41_980_000_00, duration_days=MAX_PRICE, quality="合格")),
    ("nulls as absent", {"price": 7, "duration_days": None, "quality": None, "attachment": None},
     bid(price=7)),
    ("unknown fields dropped", {"price": 7, "note": "x", "bidder": "t2"}, bid(price=7)),
    ("an attachment by name, size and hash",
     {"price": 5, "attachment": {"name": "报价单.pdf", "data": b64(PDF)}},
     bid(price=5, attachment={"name": "报价单.pdf", "size": len(PDF),
                              "sha256": hashlib.sha256(PDF).hexdigest()})),
    ("an attachment's long name cut, an empty one kept",
     {"price": 5, "attachment": {"name": "名" * 600, "data": ""}},
     bid(price=5, attachment={"name": "名" * 500, "size": 0,
                              "sha256": hashlib.sha256(b"").hexdigest()})),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "expected"), OPENS, ids=[c[0] for c in OPENS])
def test_an_envelope_opens_to_the_bid_as_logged(
    name: str, content: object, expected: dict[str, Any]
) -> None:
    plaintext = json.dumps(content, ensure_ascii=False).encode().ljust(PAD_FLOOR)
    assert opened(plaintext) == expected


NOT_A_BID: list[tuple[str, bytes]] = [
    ("not UTF-8", b'{"price": 1, "quality": "\xff"}'),
    ("not JSON", b"price=1"),
    ("JSON but a list", b'[{"price": 1}]'),
    ("JSON but a number", b"1"),
]
CONTENTS: list[tuple[str, object]] = [
    ("no price", {"duration_days": 30}),
    ("a price of 0", {"price": 0}),
    ("a negative price", {"price": -1}),
    ("a price past 2**53", {"price": MAX_PRICE + 1}),
    ("a price of true", {"price": True}),
    ("a price as text", {"price": "100"}),
    ("a price with cents", {"price": 1.5}),
    ("a negative duration", {"price": 1, "duration_days": -1}),
    ("a duration of true", {"price": 1, "duration_days": True}),
    ("a duration past 2**53", {"price": 1, "duration_days": MAX_PRICE + 1}),
    ("a duration as text", {"price": 1, "duration_days": "30"}),
    ("a quality as a number", {"price": 1, "quality": 5}),
    ("a quality as a list", {"price": 1, "quality": ["合格"]}),
    ("a quality too long", {"price": 1, "quality": "合" * 501}),
    ("an attachment with no data", {"price": 1, "attachment": {"name": "a.pdf"}}),
    ("an attachment with no name", {"price": 1, "attachment": {"data": b64(PDF)}}),
    ("an attachment as text", {"price": 1, "attachment": "a.pdf"}),
    ("an attachment not base64", {"price": 1, "attachment": {"name": "a", "data": "abc"}}),
    ("an attachment of a number", {"price": 1, "attachment": {"name": "a", "data": 7}}),
]


@pytest.mark.parametrize(
    "plaintext",
    [p for _, p in NOT_A_BID]
    + [json.dumps(c, ensure_ascii=False).encode().ljust(PAD_FLOOR) for _, c in CONTENTS],
    ids=[n for n, _ in NOT_A_BID] + [n for n, _ in CONTENTS],
)
def test_an_envelope_that_does_not_hold_a_bid_is_bad_content(plaintext: bytes) -> None:
    assert failure(lambda: opened(plaintext)) == "BAD_CONTENT"


def test_a_ciphertext_that_does_not_authenticate_under_the_right_key_is_corrupt() -> None:
    sealed = seal(OPENING, BIDDER, {"price": 1}, None)
    broken = sealed.ciphertext[:-1] + bytes([sealed.ciphertext[-1] ^ 1])
    committed = commitment(OPENING, BIDDER, sealed.key, digest(sealed.nonce, broken))
    reason = failure(
        lambda: open_envelope(OPENING, BIDDER, committed, sealed.nonce, broken, sealed.key)
    )
    assert reason == "CORRUPT"


def test_an_envelope_opened_for_another_opening_fails_its_commitment() -> None:
    sealed = seal(OPENING, BIDDER, {"price": 1}, None)
    other = "op2"
    reason = failure(
        lambda: open_envelope(
            other, BIDDER, sealed.commitment, sealed.nonce, sealed.ciphertext, sealed.key
        )
    )
    assert reason == "BAD_KEY"  # the key's failure, not a corrupt envelope


# ---- the commitment and the sealed plaintext, as seal.js makes them ------------------------


def test_the_commitment_hashes_format_opening_bidder_key_and_envelope_digest() -> None:
    envelope_digest = hashlib.sha256(NONCE + b"ciphertext").hexdigest()
    assert digest(NONCE, b"ciphertext") == envelope_digest
    expected = hashlib.sha256(AAD + b"|" + KEY + bytes.fromhex(envelope_digest)).hexdigest()
    assert commitment(OPENING, BIDDER, KEY, envelope_digest) == expected


def test_a_sealed_envelope_is_utf8_json_padded_with_trailing_spaces() -> None:
    content = {"price": 40_770_000_00, "duration_days": 365, "quality": "合格"}
    sealed = seal(OPENING, BIDDER, content, ("报价单.pdf", PDF))
    plaintext = AESGCM(sealed.key).decrypt(sealed.nonce, sealed.ciphertext, AAD)
    assert len(plaintext) == PAD_FLOOR
    text = plaintext.rstrip(b" ")
    assert text.startswith(b"{") and text.endswith(b"}")  # the padding follows the JSON
    assert "合格".encode() in text and "报价单.pdf".encode() in text  # UTF-8, not \u escapes
    assert json.loads(text) == content | {"attachment": {"name": "报价单.pdf", "data": b64(PDF)}}
    committed = hashlib.sha256(
        AAD + b"|" + sealed.key + hashlib.sha256(sealed.nonce + sealed.ciphertext).digest()
    ).hexdigest()
    assert sealed.commitment == committed


def test_a_sealed_envelope_holds_its_json_with_sorted_keys() -> None:
    """seal.js writes the keys sorted, so the same bid seals to the same plaintext."""
    content = {"quality": "合格", "price": 40_770_000_00, "duration_days": 365}
    sealed = seal(OPENING, BIDDER, content, ("报价单.pdf", PDF))
    plaintext = AESGCM(sealed.key).decrypt(sealed.nonce, sealed.ciphertext, AAD)
    attachment = f'{{"data": "{b64(PDF)}", "name": "报价单.pdf"}}'
    text = f'{{"attachment": {attachment}, "duration_days": 365, "price": 4077000000, '
    assert plaintext.rstrip(b" ") == (text + '"quality": "合格"}').encode()


def test_what_a_bidder_uploads_of_its_envelope() -> None:
    sealed = seal(OPENING, BIDDER, {"price": 1}, None)
    assert sealed.upload() == {
        "nonce": b64(sealed.nonce),
        "ciphertext": b64(sealed.ciphertext),
        "commitment": sealed.commitment,
    }
    assert base64.b64decode(sealed.upload()["nonce"]) == sealed.nonce
    assert len(sealed.nonce) == 12 and len(sealed.ciphertext) == PAD_FLOOR + 16


@pytest.mark.parametrize(
    ("bid", "attached"),
    [
        ({"price": 1, "attachment": {"name": "报价单.pdf", "data": b64(PDF)}}, PDF),
        ({"price": 1, "attachment": {"name": "empty.pdf", "data": ""}}, b""),
        ({"price": 1, "attachment": None}, None),
        ({"price": 1}, None),
    ],
    ids=["a file", "an empty file", "none", "no attachment key"],
)
def test_the_attachment_of_an_opened_plaintext(bid: dict[str, Any], attached: bytes | None) -> None:
    assert attachment_of(bid) == attached


# ---- the key handed over -------------------------------------------------------------------


def test_a_key_of_32_base64_bytes_is_taken() -> None:
    assert decode_key(b64(KEY)) == KEY


KEYS: list[tuple[str, object]] = [
    ("not base64", "not base64!"),
    ("base64 with a stray character", b64(KEY)[:20] + "!" + b64(KEY)[20:]),
    ("base64 with a line break", b64(KEY)[:20] + "\n" + b64(KEY)[20:]),
    ("bad padding", b64(KEY)[:-1]),
    ("31 bytes", b64(KEY[:31])),
    ("33 bytes", b64(KEY + b"\0")),
    ("nothing", ""),
    ("not text", None),
]


@pytest.mark.parametrize("text", [k for _, k in KEYS], ids=[n for n, _ in KEYS])
def test_anything_but_32_base64_bytes_is_a_bad_key(text: object) -> None:
    assert failure(lambda: decode_key(text)) == "BAD_KEY"
