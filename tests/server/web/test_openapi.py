"""The OpenAPI description covers every route, and Schemathesis, an independent fuzzer,
finds no server error and no answer outside the description: every route, with no token
and with each kind of token, on a lot and an opening that exist and on ids that do not.
The fuzzer runs as its own process with a fixed seed and a bounded number of examples,
against a server with a Valkey of its own (it creates lots and openings by the hundred)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Mount, Route

from server.store.embedded import EmbeddedValkey
from server.web.app import create_app
from tests.conftest import ADMIN, SUPERVISOR, TIMEOUT, admin_client, serving
from tests.server.helpers import make_lot, qualified_bidder
from tests.server.services.test_openings import new_opening

CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
# random examples per operation, besides the coverage phase's bounds of every field: most
# for the tokens that reach the most code; a token that gets 401 or 403 everywhere but the
# public routes needs few
EXAMPLES = {"admin": 25, "bidder": 25, "supervisor": 10, "anyone": 10, "a wrong token": 5,
            "made-up ids": 10}  # fmt: skip


def test_every_route_is_described() -> None:
    app = create_app("redis://127.0.0.1:1", ADMIN)
    described = app.state.openapi
    assert described["openapi"].startswith("3.1")
    for route in app.routes:
        if isinstance(route, Mount):
            continue  # /static: files
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":
                assert method.lower() in described["paths"][route.path], (method, route.path)


async def test_the_description_is_served(public: httpx.AsyncClient) -> None:
    served = (await public.get("/api/openapi.json")).json()
    body = served["paths"]["/api/lots/{lot}/bids"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/BidBody")
    assert "price" in served["components"]["schemas"]["BidBody"]["properties"]
    page = await public.get("/api/docs")
    assert page.status_code == 200 and "/api/lots/{lot}/bids" in page.text


@pytest.fixture(scope="module")
async def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, Path]]:
    """A server on its own Valkey, with a lot, an opening and a bidder of each to aim at;
    yields its URL and a Schemathesis config naming them."""
    folder = tmp_path_factory.mktemp("fuzz")
    with EmbeddedValkey(folder / "valkey", persist=False) as store:
        async with serving(store.url) as url, admin_client(url) as admin:
            lot_id = await make_lot(admin)
            bidder = await qualified_bidder(admin, lot_id, "甲公司")
            opening_id = await new_opening(admin)
            config = folder / "schemathesis.toml"
            config.write_text(
                f'[parameters]\n"path.lot" = "{lot_id}"\n"path.opening" = "{opening_id}"\n'
                f'"path.bidder_id" = "{bidder["bidder_id"]}"\n'
            )
            (folder / "bidder-token").write_text(bidder["token"])
            yield url, folder


async def schemathesis(
    url: str, folder: Path, token: str | None, real_ids: bool, examples: int
) -> str:
    """Schemathesis's CLI over every operation; its output. Fails the test on its failure."""
    config = ["--config-file", str(folder / "schemathesis.toml")] if real_ids else []
    header = ["--header", f"Authorization: Bearer {token}"] if token else []
    command = [str(Path(sys.executable).with_name("schemathesis")), *config, "run",
               f"{url}/api/openapi.json", "--checks", CHECKS, "--max-examples", str(examples),
               "--seed", "20261201", "--phases", "examples,coverage,fuzzing", "--no-color",
               "--generation-database", "none", "--workers", "1", *header]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, cwd=folder, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), 30 * TIMEOUT)
    said = output.decode()
    assert process.returncode == 0, said[-6000:]
    return said


@pytest.mark.parametrize("who", ["anyone", "admin", "supervisor", "bidder", "a wrong token"])
async def test_schemathesis_finds_nothing_on_real_ids(fuzzed: tuple[str, Path], who: str) -> None:
    url, folder = fuzzed
    tokens = {"admin": ADMIN, "supervisor": SUPERVISOR, "a wrong token": "x" * 32,
              "bidder": (folder / "bidder-token").read_text()}  # fmt: skip
    said = await schemathesis(url, folder, tokens.get(who), True, EXAMPLES[who])
    summary = said.split("SUMMARY")[-1]
    print(summary)
    assert " passed" in summary


async def test_schemathesis_finds_nothing_on_made_up_ids(fuzzed: tuple[str, Path]) -> None:
    url, folder = fuzzed
    said = await schemathesis(url, folder, ADMIN, False, EXAMPLES["made-up ids"])
    assert " passed" in said.split("SUMMARY")[-1]
