"""Per-process limits on live rooms: the connection cap and the per-connection frame rate."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed

from server.limits import Limits
from streaming.rooms.wire import Close
from tests.conftest import ADMIN, TIMEOUT, admin_client, serving
from tests.server.helpers import lot_in_limited
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
    async with serving(valkey_url, Limits(max_connections=cap, reserved=0)) as url:
        async with admin_client(url) as admin:
            lot, _ = await lot_in_limited(admin)
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
        lot, _ = await lot_in_limited(admin)
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


async def test_a_bidder_gets_in_when_the_public_has_taken_its_share(valkey_url: str) -> None:
    """Review H3: anonymous viewers filled the cap and the bidder was refused."""
    limits = Limits(max_connections=4, reserved=2)
    async with serving(valkey_url, limits) as url, AsyncExitStack() as stack:
        async with admin_client(url) as admin:
            lot, (bidder,) = await lot_in_limited(admin, "甲公司")
        for _ in range(2):
            viewer = await stack.enter_async_context(client(url, lot))
            assert (await viewer.hello())["type"] == "welcome"
        third = await stack.enter_async_context(client(url, lot))
        refused = await third.hello()
        assert refused["type"] == "error" and refused["code"] == "SERVER_BUSY"
        await third.ws.wait_closed()
        assert third.ws.close_code == Close.TRY_LATER
        mine = await stack.enter_async_context(client(url, lot))
        assert (await mine.hello(bidder["token"]))["role"] == "bidder"


async def test_one_address_has_a_share_of_public_viewers(valkey_url: str) -> None:
    async with serving(valkey_url, Limits(public_per_address=2)) as url, AsyncExitStack() as stack:
        async with admin_client(url) as admin:
            lot, _ = await lot_in_limited(admin)
        answers = []
        for _ in range(3):
            viewer = await stack.enter_async_context(client(url, lot))
            answers.append((await viewer.hello())["type"])
        assert answers == ["welcome", "welcome", "error"]


async def test_sockets_that_never_say_hello_are_capped_per_address(valkey_url: str) -> None:
    async with serving(valkey_url, Limits(pending_per_address=2)) as url, AsyncExitStack() as stack:
        async with admin_client(url) as admin:
            lot, _ = await lot_in_limited(admin)
        for _ in range(2):
            await stack.enter_async_context(client(url, lot))  # connected, silent
        third = await stack.enter_async_context(client(url, lot))
        await third.ws.wait_closed()
        assert third.ws.close_code == Close.TRY_LATER


async def test_a_half_sent_request_head_is_dropped_in_time(valkey_url: str) -> None:
    """Review H3: a request whose headers never finished was held open for good."""
    async with serving(valkey_url, Limits(header_timeout_s=0.5)) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):  # the server closes; no answer comes
            assert await reader.read() == b""
        writer.close()


async def test_a_body_that_trickles_is_a_408_and_the_connection_closes(valkey_url: str) -> None:
    async with serving(valkey_url, Limits(body_timeout_s=0.5)) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        head = b"POST /api/lots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        head += f"Authorization: Bearer {ADMIN}\r\n".encode()
        writer.write(head + b'Content-Length: 100\r\n\r\n{"title": ')
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            answer = await reader.read()  # to the end: the server closes after answering
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408") and b"REQUEST_TIMEOUT" in answer
