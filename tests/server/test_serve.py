"""`openbid serve` as an operator runs it (security review L2, M6, H1): a data dir only its
user can read, a made token printed once, weak given tokens refused, HTTPS with HSTS, and a
full store that refuses writes with 503 instead of being killed."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import signal
import ssl
import stat
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, OutOfMemoryError

from server.store.embedded import EmbeddedValkey
from tests.conftest import TIMEOUT, admin_client, lot_config, serving
from tests.server.helpers import bearer, make_lot, openbid_serve, qualified_bidder


async def printed_until_listening(data_dir: Path, *extra: str) -> list[str]:
    """What `openbid serve` prints before it listens (then it is stopped)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBID_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "serve", "--port", "0", "--data-dir", str(data_dir),
        *extra, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(TIMEOUT):
            while not (lines and lines[-1].startswith("openbid listening")):
                line = (await process.stdout.readline()).decode()
                assert line, f"exited: {lines}"
                lines.append(line)
    finally:
        process.terminate()
        await process.wait()
    return lines


async def test_the_data_dir_is_private_and_a_made_token_is_printed_once(
    tmp_path: Path, valkey_url: str
) -> None:
    data = tmp_path / "data"
    first = await printed_until_listening(data)
    token = (data / "admin-token").read_text().strip()
    assert any(token in line for line in first)
    again = await printed_until_listening(data)
    assert not any(token in line for line in again)  # the logs of later starts hold no token
    for path in [data, *data.rglob("*")]:
        if path.is_socket():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"  # the AOF, the tokens, everything


async def test_a_short_token_in_the_environment_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBID_")}
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "serve", "--data-dir", str(tmp_path),
        env=env | {"OPENBID_ADMIN_TOKEN": "change-me"}, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(done.communicate(), TIMEOUT)
    assert done.returncode != 0 and b"too short" in err


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pkcs8 = serialization.PrivateFormat.PKCS8
    keyfile.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())
    )
    return certfile, keyfile


async def test_https_with_hsts(tmp_path: Path, valkey_url: str) -> None:
    certfile, keyfile = self_signed(tmp_path)
    tls = ("--certfile", str(certfile), "--keyfile", str(keyfile))
    async with openbid_serve(tmp_path / "data", "--redis-url", valkey_url, *tls) as (url, _):
        assert url.startswith("https://")
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=certfile)) as http:
            answer = await http.get(f"{url}/api/health")
    assert answer.status_code == 200
    assert answer.headers["strict-transport-security"].startswith("max-age=")


async def test_a_full_store_refuses_writes_with_503(tmp_path: Path) -> None:
    with EmbeddedValkey(tmp_path, persist=False, maxmemory=4 << 20) as store:
        async with serving(store.url) as url, admin_client(url) as admin:
            filler = Redis.from_url(store.url)
            with pytest.raises(OutOfMemoryError):  # past 4 MiB: writes refused from here on
                for i in range(10_000):
                    await filler.set(f"filler{i}", os.urandom(4096))
            await filler.aclose()
            now = (await admin.get("/api/health")).json()["server_now"]
            made = await admin.post(
                "/api/lots", json=lot_config(opens_at=now, free_ends_at=now + 60_000)
            )
            assert made.status_code == 503, made.text
            assert made.json()["code"] == "STORE_UNAVAILABLE" and made.headers["retry-after"]


def test_a_data_dir_too_deep_for_a_socket_gets_a_password_on_loopback(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120)  # past the 108 bytes of a unix socket's path
    with EmbeddedValkey(deep, persist=False) as store:
        assert store.url.startswith("redis://:")
        assert redis.Redis.from_url(store.url).ping()
        port = urlsplit(store.url).port
        assert port is not None
        with pytest.raises(AuthenticationError):
            redis.Redis(port=port).ping()


async def test_a_killed_store_is_restarted_and_nothing_acknowledged_is_lost(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    async with openbid_serve(data) as (url, _), admin_client(url) as admin:
        lot_id = await make_lot(admin)
        bidder = await qualified_bidder(admin, lot_id, "甲公司")
        sent = await admin.post(f"/api/lots/{lot_id}/bids", headers=bearer(bidder["token"]),
                                json={"bid_id": "1", "price": 34_380_000})  # fmt: skip
        assert sent.json()["accepted"]
        pid = int((data / "valkey" / "valkey.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        codes: set[int] = set()
        async with asyncio.timeout(3 * TIMEOUT):  # 503 while it is down, then back by itself
            while (health := await admin.get("/api/health")).status_code != 200 or not codes:
                codes.add(health.status_code)
                if health.status_code == 503:
                    assert health.json() == health.json() | {
                        "ok": False,
                        "code": "STORE_UNAVAILABLE",
                    }
                await asyncio.sleep(0.05)  # polling a restart: there is no event to await
        assert 503 in codes
        assert int((data / "valkey" / "valkey.pid").read_text()) != pid
        seen = (await admin.get(f"/api/lots/{lot_id}")).json()
        assert seen["price"] == 34_380_000  # the acknowledged bid survived
