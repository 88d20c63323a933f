"""OpenBid on a three-master Valkey Cluster: each lot's keys share one slot, lots spread
over the masters, and a lot is played, closed by the timer and verified as on one server."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from server.cli import main
from server.store.embedded import EmbeddedCluster
from server.store.keys import LOT_DUE_KEY, lot_keys
from tests.conftest import admin_client, serving
from tests.server.helpers import make_lot
from tests.server.test_verify import closed_lot, save


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with (
        tempfile.TemporaryDirectory(prefix="ob-cluster-") as tmp,
        EmbeddedCluster(Path(tmp)) as started,
    ):
        yield started


@pytest.fixture
async def cluster_admin(cluster: EmbeddedCluster) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(cluster.url) as url, admin_client(url) as client:
        yield client


@pytest.fixture
async def client(cluster: EmbeddedCluster) -> AsyncIterator[RedisCluster]:
    started = RedisCluster.from_url(cluster.url)
    await started.initialize()
    yield started
    await started.aclose()


@pytest.fixture
async def node(cluster: EmbeddedCluster) -> AsyncIterator[Redis]:
    """A plain client on one master: classic pub/sub reaches every node of a cluster."""
    client = Redis.from_url(cluster.nodes[-1].url)
    yield client
    await client.aclose()


async def test_lot_keys_share_a_slot_and_lots_spread(
    cluster_admin: httpx.AsyncClient, client: RedisCluster
) -> None:
    masters = set()
    for _ in range(8):
        keys = list(lot_keys(await make_lot(cluster_admin)).values())
        assert len({client.keyslot(key) for key in keys}) == 1, keys
        node = client.get_node_from_key(keys[0])
        assert node is not None
        masters.add(node.name)
    assert len(masters) > 1  # eight lots did not all land on one master


async def test_a_lot_is_played_closed_and_verified(
    cluster_admin: httpx.AsyncClient, client: RedisCluster, node: Redis, tmp_path: Path
) -> None:
    lot = await closed_lot(cluster_admin, node)
    result = (await cluster_admin.get(f"/api/lots/{lot}/result")).json()
    assert result["outcome"] == "sold" and result["price"] == 34_880_000
    assert await client.zscore(LOT_DUE_KEY, lot) is None  # the due set (another slot) let go
    document = (await cluster_admin.get(f"/api/lots/{lot}/audit")).json()
    assert document["head"] == result["audit_head"]
    assert main(["verify", str(save(tmp_path, document))]) == 0
