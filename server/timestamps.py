"""RFC 3161 time-stamp tokens, through pyHanko: ask a time-stamping authority (TSA) for a
token over bytes, read a token's time, and check one against the certificates a verifier
trusts. The server anchors its checkpoints with the first two (server/services/
anchoring.py); `openbid verify --tsa-cert` uses the third (server/verify_anchor.py).

A token is kept and passed on as the DER of its CMS ContentInfo (SignedData over a
TSTInfo): the bytes any RFC 3161 tool reads (`openssl ts -verify -in … -token_in`).

pyHanko is imported where it is used: it takes about a second to import, which every
process start (each worker, each restart) would pay.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import hashlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from asn1crypto import cms, pem, tsp, x509

__all__ = ["BadToken", "Stamp", "check_token", "read_certificates", "request_token", "token_time"]

for _name in ("pyhanko", "pyhanko_certvalidator"):  # a failed check is our answer, not theirs
    logging.getLogger(_name).addHandler(logging.NullHandler())

T = TypeVar("T")


class BadToken(ValueError):
    """A token that does not decode, is over other bytes, or whose signature does not
    hold or does not chain to a trusted certificate; the message says which."""


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a token that checks says: its `time` (genTime) and who signed it (`tsa`, the
    signing certificate's subject)."""

    time: datetime.datetime
    tsa: str


async def request_token(url: str, data: bytes, timeout_s: float) -> bytes:
    """A token over SHA-256 of `data` from the TSA at `url` (RFC 3161 over HTTP, with a
    nonce); raises OSError when the TSA is unreachable or refuses, TimeoutError when it
    does not answer in `timeout_s`, BadToken when it answers a token over other bytes."""
    from pyhanko.sign.timestamps import HTTPTimeStamper

    digest = hashlib.sha256(data).digest()
    async with asyncio.timeout(timeout_s):
        token: cms.ContentInfo = await HTTPTimeStamper(url, timeout=timeout_s).async_timestamp(
            digest, "sha256"
        )
    der = bytes(token.dump())
    _imprint_of(_tst_info(der), data)
    return der


def token_time(token: bytes) -> datetime.datetime:
    """The time the TSA says it saw the bytes (genTime); BadToken if it does not decode."""
    when: datetime.datetime = _tst_info(token)["gen_time"].native
    return when


def read_certificates(pem_bytes: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM file (or one DER certificate); ValueError if none."""
    if not pem.detect(pem_bytes):
        return [x509.Certificate.load(pem_bytes)]
    found = [x509.Certificate.load(der) for kind, _, der in pem.unarmor(pem_bytes, True)
             if kind == "CERTIFICATE"]  # fmt: skip
    if not found:
        raise ValueError("no certificate in the file")
    return found


def check_token(token: bytes, data: bytes, trusted: list[x509.Certificate]) -> Stamp:
    """The token's time and signer, once its imprint is SHA-256 of `data`, its signature holds and
    its signer chains (at genTime, for time stamping) to one of `trusted`: the TSA's own
    certificate or its CA's. Raises BadToken saying which fails. Runs pyHanko's async
    validation on a thread of its own, so a caller inside an event loop may call it too."""
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    info = _tst_info(token)
    _imprint_of(info, data)
    when: datetime.datetime = info["gen_time"].native
    signed = cms.ContentInfo.load(token)["content"]
    context = ValidationContext(trust_roots=trusted, moment=when)
    try:
        status = _run(validate_tst_signed_data(signed, context, lambda _: _digest(data)))
    except Exception as error:
        raise BadToken(f"the timestamp token's signature does not check: {error}") from None
    if not (status["intact"] and status["valid"]):
        raise BadToken("the timestamp token's signature does not hold: the token was changed")
    if status["trust_problem_indic"] is not None:
        raise BadToken("the timestamp token is not signed by the given TSA certificate, nor "
                       f"by one it certifies ({status['trust_problem_indic'].name})")  # fmt: skip
    return Stamp(when, status["signing_cert"].subject.human_friendly)


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _tst_info(token: bytes) -> tsp.TSTInfo:
    try:
        content = cms.ContentInfo.load(token)
        encapsulated = content["content"]["encap_content_info"]
        info = encapsulated["content"].parsed
        if content["content_type"].native != "signed_data" or not isinstance(info, tsp.TSTInfo):
            raise ValueError("not a SignedData over a TSTInfo")
        info["gen_time"].native  # noqa: B018 (decodes it, or raises)
    except Exception:
        raise BadToken(
            "the timestamp token does not decode (RFC 3161 TimeStampToken, DER)"
        ) from None
    return info


def _imprint_of(info: tsp.TSTInfo, data: bytes) -> None:
    imprint = info["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if algorithm != "sha256" or imprint["hashed_message"].native != _digest(data):
        raise BadToken("the timestamp token is over other bytes than this checkpoint")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
