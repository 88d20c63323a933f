"""Random and malformed frames (hypothesis): each gets one answer with a code, the
connection stays up, and the lot does not change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.limits import Limits
from tests.conftest import admin_client, serving
from tests.server.helpers import lot_in_limited
from tests.server.wsclient import client

TYPES = ["hello", "bid", "continue", "accept", "ping", "pong", "event", "", "BID"]
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
messages = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES) | st.text(max_size=8) | values},
    optional={"bid_id": values, "price": values, "t": values, "token": values, "since": values},
)
frames = st.one_of(
    messages.map(lambda m: msgpack.packb(m, use_bin_type=True)),
    st.binary(max_size=64),
    st.text(max_size=64),  # a text frame in the binary protocol
    st.lists(values, max_size=3).map(lambda v: msgpack.packb(v)),
)
ANSWERS = {"error", "nack", "pong", "ack"}


@pytest.fixture(scope="module")
async def roomy(valkey_url: str) -> AsyncIterator[str]:
    """An app with no frame rate limit to speak of, so every frame is answered."""
    many = Limits(frames_per_s=1e6, frame_burst=1_000_000, bids_per_s=1e6, bid_burst=1_000_000)
    async with serving(valkey_url, many) as url:
        yield url


@pytest.fixture(scope="module")
async def lot_and_token(roomy: str) -> tuple[str, str]:
    async with admin_client(roomy) as admin:
        lot, (bidder,) = await lot_in_limited(admin, "甲")
    return lot, bidder["token"]


def changes_nothing(frame: bytes | str) -> bool:
    """Whether a bidder's frame is malformed or harmless: a well-formed command is a
    decision, and the log records even its refusal."""
    try:
        message: Any = msgpack.unpackb(frame) if isinstance(frame, bytes) else None
    except Exception:
        return True
    if not isinstance(message, dict) or message.get("type") not in ("bid", "continue", "accept"):
        return True
    price, bid_id = message.get("price"), message.get("bid_id")
    well_formed = type(price) is int and isinstance(bid_id, str) and 0 < len(bid_id) <= 64
    return message["type"] == "bid" and not well_formed


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(frames, min_size=1, max_size=40))
async def test_random_frames_get_codes_and_change_nothing(
    roomy: str, lot_and_token: tuple[str, str], batch: list[bytes | str]
) -> None:
    lot, token = lot_and_token
    async with httpx.AsyncClient(base_url=roomy) as public:
        before = (await public.get(f"/api/lots/{lot}")).json()["seq"]
        for as_bidder in (False, True):
            async with client(roomy, lot) as c:
                await c.hello(token if as_bidder else None)
                sent = [f for f in batch if not as_bidder or changes_nothing(f)]
                for frame in sent:
                    await c.ws.send(frame)
                await c.send({"type": "ping", "t": -1})  # a marker after the batch
                got = await c.until(lambda m: m.get("type") == "pong" and m.get("t") == -1)
                answers = [m for m in got if m["type"] != "event"]
                assert len(answers) == len(sent) + 1
                assert all(m["type"] in ANSWERS for m in answers)
                coded = [m for m in answers if m["type"] in ("error", "nack")]
                assert all(isinstance(m["code"], str) and m["message"] for m in coded)
        after = (await public.get(f"/api/lots/{lot}")).json()["seq"]
    # the bidder's malformed bids are refused before the bid book: nothing logged
    assert after == before
