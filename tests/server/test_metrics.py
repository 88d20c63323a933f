"""`/metrics` counts the cycle collector's pauses: the moments the whole process stops."""

from __future__ import annotations

import gc

import httpx
from prometheus_client.parser import text_string_to_metric_families


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
