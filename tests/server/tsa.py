"""A local RFC 3161 time-stamping authority for the tests: a CA and a TSA certificate (the
TSA's with the critical extended key usage timeStamping), and `openssl ts -reply` behind a
small HTTP endpoint (`application/timestamp-query` in, `application/timestamp-reply` out),
served by uvicorn on a free port. It can be taken down (503) and held (a request waits
until released), and every request it answers is counted, so a test awaits them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.store.embedded import free_port
from tests.conftest import TIMEOUT

__all__ = ["LocalTSA", "local_tsa", "make_ca"]

OPENSSL = shutil.which("openssl")
CONFIG = """\
[ tsa ]
default_tsa = local
[ local ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_ca(common: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A self-signed CA certificate and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _tsa_cert(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name("OpenBid test TSA"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )


@dataclass
class LocalTSA:
    """The running TSA: its URL, the CA and TSA certificates (PEM files) a verifier may
    trust, and its switches. `answered` counts the tokens it gave."""

    url: str
    folder: Path
    up: bool = True
    answered: int = 0
    held: asyncio.Event = field(default_factory=asyncio.Event)
    asked: asyncio.Condition = field(default_factory=asyncio.Condition)
    requests: int = 0

    @property
    def ca_pem(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def tsa_pem(self) -> Path:
        return self.folder / "tsa.pem"

    def hold(self) -> None:
        """Keep every request waiting (a TSA that does not answer) until `release`."""
        self.held.clear()

    def release(self) -> None:
        self.held.set()

    async def until_requests(self, count: int) -> None:
        """Wait until the TSA has been asked `count` times in all."""
        async with asyncio.timeout(TIMEOUT), self.asked:
            await self.asked.wait_for(lambda: self.requests >= count)

    async def _reply(self, request: Request) -> Response:
        async with self.asked:
            self.requests += 1
            self.asked.notify_all()
        if not self.up:
            return Response(b"down", status_code=503)
        await self.held.wait()
        query = self.folder / f"q{self.requests}.tsq"
        query.write_bytes(await request.body())
        answer = await _openssl_reply(self.folder, query)
        self.answered += 1
        return Response(answer, media_type="application/timestamp-reply")


async def _openssl_reply(folder: Path, query: Path) -> bytes:
    assert OPENSSL, "the tests' TSA needs the openssl command (Debian: apt-get install openssl)"
    process = await asyncio.create_subprocess_exec(
        OPENSSL, "ts", "-reply", "-config", str(folder / "openssl.cnf"), "-queryfile",
        str(query), "-passin", "pass:", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out


def _materials(folder: Path) -> None:
    ca, ca_key = make_ca("OpenBid test TSA CA")
    key = ec.generate_private_key(ec.SECP256R1())
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert = _tsa_cert(ca, ca_key, key)
    (folder / "tsa.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "tsa.key").write_bytes(_pem(key))
    (folder / "serial").write_text("01\n")
    (folder / "openssl.cnf").write_text(CONFIG.format(dir=folder))


@contextlib.asynccontextmanager
async def local_tsa() -> AsyncIterator[LocalTSA]:
    """A TSA up and answering, on a free loopback port, for the block."""
    with tempfile.TemporaryDirectory(prefix="ob-tsa-") as tmp:
        folder = Path(tmp)
        _materials(folder)
        port = free_port()
        tsa = LocalTSA(url=f"http://127.0.0.1:{port}/tsa", folder=folder)
        tsa.release()
        app = Starlette(routes=[Route("/tsa", tsa._reply, methods=["POST"])])
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        task = asyncio.create_task(server.serve())
        async with asyncio.timeout(TIMEOUT):
            while not server.started:
                await asyncio.sleep(0.01)  # uvicorn offers no startup event
        try:
            yield tsa
        finally:
            tsa.release()
            server.should_exit = True
            await asyncio.wait_for(task, TIMEOUT)
