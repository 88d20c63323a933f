"""Bad input of any kind gets a 4xx with a code and changes nothing (security review L1):
each probe of the review that gave a 500 or a dropped socket."""

from __future__ import annotations

import httpx
import pytest

from tests.server.helpers import bearer, make_lot, qualified_bidder
from tests.server.wsclient import client

SINCE = ["²", "1" * 5000, str(2**70), "-1", "1e3", " 1", "٣"]


@pytest.mark.parametrize("since", SINCE)
async def test_a_since_that_is_not_a_position_is_a_422(
    admin: httpx.AsyncClient, since: str
) -> None:
    lot_id = await make_lot(admin)
    answer = await admin.get(f"/api/lots/{lot_id}/events", params={"since": since})
    assert answer.status_code == 422 and answer.json()["field"] == "since", answer.text


async def test_json_nested_too_deep_is_a_422_and_bids_nothing(admin: httpx.AsyncClient) -> None:
    lot_id = await make_lot(admin)
    bidder = await qualified_bidder(admin, lot_id, "甲公司")
    deep = "[" * 5_000 + "]" * 5_000  # 10 kB, under the body limit: only its depth is wrong
    answer = await admin.post(
        f"/api/lots/{lot_id}/bids",
        content=deep,
        headers=bearer(bidder["token"]) | {"content-type": "application/json"},
    )
    assert answer.status_code == 422 and answer.json()["code"] == "BAD_MESSAGE"
    assert (await admin.get(f"/api/lots/{lot_id}")).json()["price"] is None


@pytest.mark.parametrize("path", ["/api/lots/{lot}/audit", "/api/lots/{lot}/bids", "/api/whoami"])
async def test_a_token_that_is_not_ascii_is_refused_not_a_500(
    served: str, admin: httpx.AsyncClient, path: str
) -> None:
    lot_id = await make_lot(admin)
    headers = {b"authorization": "Bearer 令牌".encode()}
    async with httpx.AsyncClient(base_url=served) as anyone:
        answer = await anyone.request(
            "POST" if path.endswith("bids") else "GET", path.format(lot=lot_id), headers=headers
        )
    assert answer.status_code in (401, 403), answer.text
    assert answer.json()["code"] in ("UNAUTHORIZED", "FORBIDDEN")


@pytest.mark.parametrize("hello", [{"since": 10**30}, {"token": "令牌"}, {"since": 2**64}])
async def test_a_hello_with_a_bad_since_or_token_is_answered_with_a_code(
    served: str, admin: httpx.AsyncClient, hello: dict[str, object]
) -> None:
    lot_id = await make_lot(admin)
    async with client(served, lot_id, "openbid.json.v1") as ws:
        await ws.send({"type": "hello"} | hello)
        answer = await ws.recv()
    assert answer["type"] == "error"
    assert answer["code"] in ("BAD_MESSAGE", "UNAUTHORIZED")
