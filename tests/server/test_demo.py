"""`openbid serve --demo` seeds a lot and an opening a visitor can use at once."""

from __future__ import annotations

import re

import httpx

from server.demo import seed
from tests.conftest import ADMIN
from tests.server.helpers import bearer


async def test_the_demo_opening_has_sealed_envelopes_its_bidders_can_see(
    served: str, public: httpx.AsyncClient
) -> None:
    printed = await seed(served, ADMIN)
    opening = re.search(r"demo opening (\w+)", printed)
    tokens = re.findall(r"token (\S+) key (\S+)", printed)
    assert opening is not None and len(tokens) == 3
    for token, _ in tokens:
        seen = (await public.get(f"/api/openings/{opening[1]}", headers=bearer(token))).json()
        assert seen["phase"] == "scheduled" and seen["me"]["envelope"] is not None
    lot = re.search(r"demo lot (\w+)", printed)
    assert lot is not None
    assert (await public.get(f"/api/lots/{lot[1]}")).json()["phase"] == "free"
