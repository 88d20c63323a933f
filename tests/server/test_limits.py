"""Per-process limits on live rooms: the connection cap and the per-connection frame rate."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed

from server.limits import Limits
from streaming.codec import Close
from tests.conftest import admin_client, serving
from tests.server.test_ws import limited_lot
from tests.server.wsclient import client


def rate_limited_frames(metrics_text: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "openbid_ws_bad_frames_total" and sample.labels == {
                "code": "RATE_LIMITED"
            }:
                return sample.value
    return 0.0


async def test_past_the_connection_cap_a_socket_is_told_to_try_later(valkey_url: str) -> None:
    cap = 2
    async with serving(valkey_url, Limits(max_connections=cap)) as url:
        async with admin_client(url) as admin:
            lot = await limited_lot(admin)
        async with client(url, lot) as first, client(url, lot) as second:
            for c in (first, second):
                assert (await c.hello())["type"] == "welcome"
            async with client(url, lot) as third:
                with pytest.raises(ConnectionClosed) as closed:
                    await third.hello()
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == Close.TRY_LATER
            for c in (first, second):  # those already in are untouched
                await c.send({"type": "ping", "t": 1})
                assert (await c.recv())["type"] == "pong"


async def test_frames_past_the_burst_are_dropped_unanswered(valkey_url: str) -> None:
    burst, extra = 4, 6
    limits = Limits(frames_per_s=0.001, frame_burst=burst)  # no refill within the test
    async with serving(valkey_url, limits) as url, admin_client(url) as admin:
        lot = await limited_lot(admin)
        before = rate_limited_frames((await admin.get("/metrics")).text)
        async with client(url, lot) as c:
            await c.hello()
            for i in range(burst + extra):
                await c.send({"type": "ping", "t": i})
            pongs = [await c.recv() for _ in range(burst)]
            assert [p["t"] for p in pongs] == list(range(burst))
            # The server reads frames in order and the close frame only after every
            # ping, so once the close handshake is done every ping has been counted.
            await c.ws.close()
        after = rate_limited_frames((await admin.get("/metrics")).text)
    assert after - before == extra
