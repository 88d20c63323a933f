"""`/metrics` counts the cycle collector's pauses: the moments the whole process stops."""

from __future__ import annotations

import gc
import os

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ADMIN, SUPERVISOR, serving
from tests.server.helpers import bearer
from tests.server.services.test_openings import new_opening


async def samples(admin: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    text = (await admin.get("/metrics")).text
    return {
        (s.name, s.labels.get("generation", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("openbid_gc_pause")
    }


async def test_each_full_collection_is_timed_and_the_longest_kept(
    admin: httpx.AsyncClient,
) -> None:
    before = await samples(admin)
    gc.collect()  # a full pass in this process, where the app runs
    gc.collect()
    after = await samples(admin)
    count, total = ("openbid_gc_pause_seconds_count", "2"), ("openbid_gc_pause_seconds_sum", "2")
    passes = after[count] - before.get(count, 0)
    assert passes >= 2  # ours, and any the process ran on its own meanwhile
    mean = (after[total] - before.get(total, 0)) / passes
    assert after[("openbid_gc_pause_longest_seconds", "")] >= mean > 0


async def test_metrics_are_for_staff_and_the_scraper_only(served: str, valkey_url: str) -> None:
    async with httpx.AsyncClient(base_url=served) as anyone:
        assert (await anyone.get("/metrics")).status_code == 401
        wrong = await anyone.get("/metrics", headers=bearer("not-a-token"))
        assert wrong.status_code == 403 and wrong.json()["code"] == "FORBIDDEN"
        for token in (ADMIN, SUPERVISOR):
            assert (await anyone.get("/metrics", headers=bearer(token))).status_code == 200
    async with (
        serving(valkey_url, metrics_token="scraper-token") as url,
        httpx.AsyncClient(base_url=url) as scraper,
    ):
        found = await scraper.get("/metrics", headers=bearer("scraper-token"))
        assert found.status_code == 200 and "openbid_decisions_total" in found.text


async def test_a_client_chosen_command_type_is_no_label(admin: httpx.AsyncClient) -> None:
    """Review H2: sixty commands with random 20 kB types once grew /metrics by 4 MB."""
    opening_id = await new_opening(admin)
    made = await admin.post(f"/api/openings/{opening_id}/bidders", json={"name": "甲公司"})
    tenderer = bearer(made.json()["token"])
    before = len((await admin.get("/metrics")).content)
    for _ in range(30):
        odd = {"type": os.urandom(2_000).hex()}
        answer = await admin.post(
            f"/api/openings/{opening_id}/commands", json=odd, headers=tenderer
        )
        assert answer.status_code == 422 and answer.json()["field"] == "type"
    for _ in range(15):  # past the burst: rate-limited, counted as a known command
        await admin.post(
            f"/api/openings/{opening_id}/commands", json={"type": "confirm"}, headers=tenderer
        )
    grown = len((await admin.get("/metrics")).content) - before
    assert grown < 2_000, grown
