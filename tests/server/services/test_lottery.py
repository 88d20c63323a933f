"""The cap lottery (摇号) on a real server: the pool is fixed when the acceptance window
closes, only the supervisor draws, with a share of their own, and the export verifies."""

from __future__ import annotations

from pathlib import Path

import httpx

from server.cli import main
from tests.conftest import SUPERVISOR
from tests.server.helpers import bearer, lot_in_limited
from tests.server.test_verify import save
from tests.server.wsclient import client

CAP = 36_380_000  # the L1 fixture's start, 34.38万元, plus four increments
SHARE = "a7" * 32


async def test_the_supervisor_draws_the_pool_fixed_at_the_windows_close(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    url = str(admin.base_url)
    lot, (a, b, c) = await lot_in_limited(admin, "甲", "乙", "丙", cap=CAP, after_cap_s=1)
    draw = f"/api/lots/{lot}/draw"
    async with client(url, lot) as viewer:
        await viewer.hello(since=0)
        capped = await admin.post(f"/api/lots/{lot}/bids", json={"bid_id": "x", "price": CAP},
                                  headers=bearer(a["token"]))  # fmt: skip
        assert capped.status_code == 200, capped.text
        for who in (b, c):
            joined = await admin.post(f"/api/lots/{lot}/accept", headers=bearer(who["token"]))
            assert joined.json()["accepted"] is True, joined.text
        early = await admin.post(draw, json={"share": SHARE}, headers=bearer(SUPERVISOR))
        assert (early.status_code, early.json()["code"]) == (409, "PHASE_CLOSED")
        seen = await viewer.until(lambda m: m.get("kind") == "pool")
    plates = [a["plate"], b["plate"], c["plate"]]
    assert seen[-1]["plates"] == plates  # in the order they accepted: the capper first

    snapshot = (await admin.get(f"/api/lots/{lot}")).json()
    assert (snapshot["phase"], snapshot["deadline"], snapshot["awaiting_draw"]) == (
        "capped",
        None,
        True,
    )
    by_host = await admin.post(draw, json={"share": SHARE})
    assert (by_host.status_code, by_host.json()["code"]) == (403, "FORBIDDEN")
    bad = await admin.post(draw, json={"share": "A7" * 32}, headers=bearer(SUPERVISOR))
    assert (bad.status_code, bad.json()["code"]) == (422, "BAD_MESSAGE")
    late = await admin.post(f"/api/lots/{lot}/accept", headers=bearer(c["token"]))
    assert late.json()["code"] == "PHASE_CLOSED"

    drawn = await admin.post(draw, json={"share": SHARE}, headers=bearer(SUPERVISOR))
    assert drawn.status_code == 200, drawn.text
    result = (await admin.get(f"/api/lots/{lot}/result")).json()
    assert result["outcome"] == "sold" and result["price"] == CAP
    assert result["winner_plate"] == drawn.json()["winner_plate"] in plates
    assert (result["lottery_share"], result["lottery_plates"]) == (SHARE, plates)
    again = await admin.post(draw, json={"share": SHARE}, headers=bearer(SUPERVISOR))
    assert again.json()["code"] == "PHASE_CLOSED"

    document = (await admin.get(f"/api/lots/{lot}/audit")).json()
    assert main(["verify", str(save(tmp_path, document))]) == 0
    forged = save(tmp_path, document).read_text().replace(SHARE, "b8" * 32)
    (tmp_path / "forged.json").write_text(forged)
    assert main(["verify", str(tmp_path / "forged.json")]) != 0
