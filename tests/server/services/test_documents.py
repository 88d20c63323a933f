"""Signed documents from the outside: a sold lot's 成交确认书 and an opening's 开标记录表 as
PDF, opened by a PDF library, the CJK font embedded, the PAdES signature valid under the
centre's certificate, the document's hash in the transparency log, the same bytes every
time; none before its content is final."""

from __future__ import annotations

import base64
import hashlib
import io

import httpx
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from redis.asyncio import Redis

from auction.checkpoint import Verifier
from auction.log import leaf
from auction.merkle import leaf_hash, verify_inclusion
from tests.conftest import LOG_SIGNER
from tests.server.helpers import lot_in_limited
from tests.server.test_verify import closed_lot


async def valid_pdf(public: httpx.AsyncClient, path: str) -> tuple[bytes, PdfFileReader]:
    answer = await public.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    pem = (await public.get("/api/documents/certificate")).content
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    reader = PdfFileReader(io.BytesIO(answer.content))
    (signature,) = reader.embedded_signatures
    status = await async_validate_pdf_signature(
        signature, ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)])
    )
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert b"/FontFile2" in answer.content or b"/FontFile3" in answer.content  # embedded
    return answer.content, reader


async def in_the_log(public: httpx.AsyncClient, venue: str, pdf: bytes) -> None:
    note = (await public.get("/api/log/checkpoint")).text
    checkpoint = Verifier(LOG_SIGNER.vkey()).checkpoint(note)
    digest = hashlib.sha256(pdf).hexdigest()
    found = (await public.get(f"/api/log/inclusion?log={venue}-documents&entry={digest}")).json()
    hashed = leaf_hash(leaf(f"{venue}-documents", digest, digest))
    proof = [base64.b64decode(h) for h in found["proof"]]
    assert verify_inclusion(hashed, found["index"], checkpoint.size, proof, checkpoint.root)


async def test_a_sold_lot_s_confirmation_is_signed_and_logged(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, redis: Redis
) -> None:
    lot = await closed_lot(admin, redis)
    pdf, reader = await valid_pdf(public, f"/api/lots/{lot}/confirmation.pdf")
    assert reader.root["/Pages"]["/Count"] == 1
    await in_the_log(public, lot, pdf)
    again = await public.get(f"/api/lots/{lot}/confirmation.pdf")
    assert again.content == pdf  # built once, served the same ever after


async def test_no_confirmation_before_the_close(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    lot, _ = await lot_in_limited(admin, "甲", "乙", countdown_s=60)
    early = await public.get(f"/api/lots/{lot}/confirmation.pdf")
    assert (early.status_code, early.json()["code"]) == (409, "CONFLICT")
    unknown = await public.get("/api/lots/ffffffffff/confirmation.pdf")
    assert unknown.status_code == 404
