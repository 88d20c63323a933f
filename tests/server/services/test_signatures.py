"""Bidders' signatures from the outside: a lot that requires them takes a bid, a continue or
an accept only signed by the key its bidder registered (P-256 as a browser makes it, or SM2
as a Chinese CA issues it); another key's signature, one replayed onto another lot, or
none, is refused BAD_SIGNATURE with nothing logged; `openbid verify` checks every one."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from tongsuopy.crypto import hashes as sm_hashes
from tongsuopy.crypto import serialization as sm_serialization
from tongsuopy.crypto.asymciphers import ec as sm_ec

from auction.log import Discrepancy
from auction.opening.envelope import digest, seal
from auction.signatures import message
from server.verify import verify_document
from tests.conftest import lot_config
from tests.server.helpers import bearer
from tests.server.services.test_openings import new_opening
from tests.server.services.test_transparency import rechained
from tests.server.wsclient import client


class P256:
    """A key as WebCrypto makes one: its signature is r‖s."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.pem = (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign(self, data: bytes) -> str:
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return base64.b64encode(r.to_bytes(32) + s.to_bytes(32)).decode()


class SM2:
    """A key as a CA issues one: SM2 with SM3, the signature DER."""

    def __init__(self) -> None:
        self.key = sm_ec.generate_private_key(sm_ec.SM2())
        self.pem = (
            self.key.public_key()
            .public_bytes(
                sm_serialization.Encoding.PEM, sm_serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.key.sign(data, sm_ec.ECDSA(sm_hashes.SM3()))).decode()


async def signed_lot(admin: httpx.AsyncClient, **overrides: Any) -> str:
    now = (await admin.get("/api/health")).json()["server_now"]
    config = lot_config(opens_at=now, free_ends_at=now + 600_000, signatures="required")
    made = await admin.post("/api/lots", json=config | overrides)
    assert made.status_code == 201, made.text
    return str(made.json()["lot_id"])


async def enrol(admin: httpx.AsyncClient, lot: str, name: str, key: P256 | SM2) -> dict[str, Any]:
    made = (
        await admin.post(f"/api/lots/{lot}/bidders", json={"name": name, "public_key": key.pem})
    ).json()
    money = {"amount": 10_000_000, "kind": "cash", "ref": f"r-{made['bidder_id']}"}
    await admin.post(f"/api/lots/{lot}/bidders/{made['bidder_id']}/deposit", json=money)
    return dict(made)


async def bid(
    admin: httpx.AsyncClient, lot: str, who: dict[str, Any], body: dict[str, Any]
) -> httpx.Response:
    return await admin.post(f"/api/lots/{lot}/bids", json=body, headers=bearer(who["token"]))


def bid_sig(key: P256 | SM2, lot: str, plate: str, bid_id: str, price: int) -> str:
    return key.sign(message(lot, plate, "bid", bid_id=bid_id, price=price))


@pytest.mark.parametrize("kind", [P256, SM2])
async def test_only_the_registered_key_s_signature_bids(
    admin: httpx.AsyncClient, kind: type[P256 | SM2]
) -> None:
    lot, other_lot = await signed_lot(admin), await signed_lot(admin)
    key, stranger = kind(), kind()
    who = await enrol(admin, lot, "甲", key)
    plate, price = who["plate"], 34_380_000
    refusals = [
        {"bid_id": "n1", "price": price},  # unsigned
        {"bid_id": "n2", "price": price, "sig": bid_sig(stranger, lot, plate, "n2", price)},
        {"bid_id": "n3", "price": price, "sig": bid_sig(key, other_lot, plate, "n3", price)},
        {"bid_id": "n4", "price": price, "sig": bid_sig(key, lot, plate, "n4", price + 500_000)},
        {"bid_id": "n5", "price": price, "sig": "bm90IGEgc2lnbmF0dXJl"},
    ]
    before = (await admin.get(f"/api/lots/{lot}/audit")).json()["entries"]
    for body in refusals:
        answer = await bid(admin, lot, who, body)
        assert (answer.status_code, answer.json()["code"]) == (409, "BAD_SIGNATURE"), body
    assert (await admin.get(f"/api/lots/{lot}/audit")).json()["entries"] == before

    good = {"bid_id": "ok", "price": price, "sig": bid_sig(key, lot, plate, "ok", price)}
    assert (await bid(admin, lot, who, good)).json()["accepted"] is True
    document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert document["entries"][-1]["entry"]["sig"] == good["sig"]
    assert ", 1 signatures," in verify_document(document)


async def test_a_signed_lot_needs_each_bidder_s_key(admin: httpx.AsyncClient) -> None:
    lot = await signed_lot(admin)
    answer = await admin.post(f"/api/lots/{lot}/bidders", json={"name": "乙"})
    assert (answer.status_code, answer.json()["field"]) == (422, "public_key")
    p384 = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    answer = await admin.post(f"/api/lots/{lot}/bidders", json={"name": "乙", "public_key": p384})
    assert (answer.status_code, answer.json()["field"]) == (422, "public_key")


async def test_a_dutch_accept_is_signed_over_the_websocket(
    admin: httpx.AsyncClient, served: str
) -> None:
    lot = await signed_lot(admin, mode="dutch", dutch_step=500_000, dutch_tick_s=60,
                           dutch_floor=30_000_000)  # fmt: skip
    key = SM2()
    who = await enrol(admin, lot, "丙", key)
    async with client(served, lot) as ws:
        await ws.hello(who["token"])
        await ws.send({"type": "accept"})
        unsigned = (await ws.until(lambda m: m["type"] in ("ack", "nack")))[-1]
        await ws.send({"type": "accept", "sig": key.sign(message(lot, who["plate"], "accept"))})
        taken = (await ws.until(lambda m: m["type"] in ("ack", "nack")))[-1]
    assert (unsigned["type"], unsigned["code"]) == ("nack", "BAD_SIGNATURE")
    assert taken["type"] == "ack"
    document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert "sold" in verify_document(document) and ", 1 signatures," in verify_document(document)


async def test_verify_finds_a_signature_changed_in_the_log(admin: httpx.AsyncClient) -> None:
    """An insider who moves a signed bid to another price and rechains the log is caught by
    the bidder's signature, which only the bidder could make."""
    lot, key = await signed_lot(admin), P256()
    who = await enrol(admin, lot, "丁", key)
    price = 34_380_000
    await bid(admin, lot, who, {"bid_id": "s", "price": price,
                                "sig": bid_sig(key, lot, who["plate"], "s", price)})  # fmt: skip
    document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    entries = [row["entry"] for row in document["entries"]]
    entries[-1] = entries[-1] | {"price": price + 500_000}
    with pytest.raises(Discrepancy, match="signature does not hold"):
        verify_document(rechained(document, entries))


async def test_an_opening_that_requires_signatures_takes_only_signed_envelopes_and_sign_ins(
    admin: httpx.AsyncClient, served: str
) -> None:
    opening = await new_opening(admin, min_bidders=1, signatures="required")
    bare = await admin.post(f"/api/openings/{opening}/bidders", json={"name": "甲"})
    assert (bare.status_code, bare.json()["field"]) == (422, "public_key")
    key = SM2()
    registered = await admin.post(f"/api/openings/{opening}/bidders",
                                  json={"name": "甲", "public_key": key.pem})  # fmt: skip
    assert registered.status_code == 201, registered.text
    made = registered.json()
    sealed = seal(opening, made["bidder_id"], {"price": 41_980_000}, None)
    auth = bearer(made["token"])
    unsigned = await admin.post(f"/api/openings/{opening}/envelopes", json=sealed.upload(),
                                headers=auth)  # fmt: skip
    assert (unsigned.status_code, unsigned.json()["code"]) == (409, "BAD_SIGNATURE")
    sent = sealed.upload()
    fields = {"digest": digest(sealed.nonce, sealed.ciphertext), "commitment": sealed.commitment}
    signed = key.sign(message(opening, made["plate"], "envelope", **fields))
    taken = await admin.post(f"/api/openings/{opening}/envelopes", json=sent | {"sig": signed},
                             headers=auth)  # fmt: skip
    assert taken.status_code == 200 and taken.json()["accepted"], taken.text
    command = f"/api/openings/{opening}/commands"
    refused = await admin.post(command, json={"type": "sign_in"}, headers=auth)
    assert refused.json()["code"] == "BAD_SIGNATURE"
    sig = key.sign(message(opening, made["plate"], "sign_in"))
    assert (await admin.post(command, json={"type": "sign_in", "sig": sig}, headers=auth)).json()[
        "accepted"
    ]
    document = (await admin.get(f"/api/openings/{opening}/audit")).json()
    assert ", 2 signatures," in verify_document(document)
