"""Who may do and read what, where the review found the roles wrong (L3, L5, L8)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import SUPERVISOR
from tests.server.helpers import bearer, make_lot
from tests.server.services.test_openings import new_opening


async def test_the_supervisor_reads_an_openings_snapshot(admin: httpx.AsyncClient) -> None:
    opening_id = await new_opening(admin)
    seen = await admin.get(f"/api/openings/{opening_id}", headers=bearer(SUPERVISOR))
    assert seen.status_code == 200 and seen.json()["phase"] == "scheduled"


async def test_a_bank_ref_qualifies_one_bidder_only(admin: httpx.AsyncClient) -> None:
    lot_id = await make_lot(admin)
    ids = []
    for name in ("甲公司", "乙公司"):
        made = await admin.post(f"/api/lots/{lot_id}/bidders", json={"name": name})
        ids.append(made.json()["bidder_id"])
    paid = {"amount": 10_000_000, "kind": "cash", "ref": "ICBC-20261201-0001"}
    first = await admin.post(f"/api/lots/{lot_id}/bidders/{ids[0]}/deposit", json=paid)
    assert first.json()["qualified"] is True
    other = await admin.post(f"/api/lots/{lot_id}/bidders/{ids[1]}/deposit", json=paid)
    assert other.status_code == 409 and other.json()["code"] == "CONFLICT"
    listed = (await admin.get(f"/api/lots/{lot_id}/bidders")).json()["bidders"]
    assert {b["bidder_id"]: b["qualified"] for b in listed} == {ids[0]: True, ids[1]: False}


@pytest.mark.parametrize("name", ["甲\u202e司公", "甲\u0000", "\u200b", "甲\n乙"])
async def test_a_name_with_invisible_characters_is_refused(
    admin: httpx.AsyncClient, name: str
) -> None:
    lot_id = await make_lot(admin)
    made = await admin.post(f"/api/lots/{lot_id}/bidders", json={"name": name})
    assert made.status_code == 422 and made.json()["field"] == "name"
    opening_id = await new_opening(admin)
    made = await admin.post(f"/api/openings/{opening_id}/bidders", json={"name": name})
    assert made.status_code == 422 and made.json()["field"] == "name", made.text


async def test_a_host_command_about_an_unknown_plate_is_a_404(admin: httpx.AsyncClient) -> None:
    """Found by Schemathesis: a fault for a plate nobody holds was a 500."""
    opening_id = await new_opening(admin)
    answer = await admin.post(
        f"/api/openings/{opening_id}/commands", json={"type": "fault", "note": "x"}
    )
    assert answer.status_code == 404 and answer.json()["code"] == "NOT_FOUND"
