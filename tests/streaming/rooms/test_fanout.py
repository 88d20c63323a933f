"""Fan-out across processes and under pressure: a bid sent to one server process reaches a
viewer on another; a viewer that never reads is closed without delaying the others;
SIGTERM says "going away"."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgpack
import pytest
from websockets.exceptions import ConnectionClosed

from auction.checks import MAX_ID
from server.limits import Limits
from server.store.lots import LotBook
from server.store.scripts import unpack
from streaming.rooms.wire import Close
from tests.conftest import admin_client, serving
from tests.server.helpers import lot_in_limited, make_lot, openbid_serve, qualified_bidder
from tests.server.wsclient import Message, client
from tests.streaming.rooms.test_connection import bid

QUEUE = 256  # above one decision batch (100 bids here), which lands at once
PING_S = 600.0  # else the keepalive closes the stuck client (1011) first on a slow run


@pytest.fixture
async def small_queues(valkey_url: str) -> AsyncIterator[str]:
    """An app whose clients may fall only QUEUE frames behind."""
    async with serving(valkey_url, Limits(queue=QUEUE, ping_interval_s=PING_S)) as url:
        yield url


def tiny_receive_buffer(url: str) -> socket.socket:
    """A connected socket whose receive window is a few KiB: a client that stops reading
    pushes back on the server at once instead of after megabytes of kernel buffers."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    return sock


async def test_a_viewer_that_never_reads_is_closed_and_delays_no_one(
    small_queues: str, book: LotBook
) -> None:
    async with admin_client(small_queues) as admin:
        lot, (bidder,) = await lot_in_limited(admin, "甲")
        stuck_sock = tiny_receive_buffer(small_queues)
        async with (
            # it never reads, so it sends no keepalive ping of its own either: on a slow run
            # its ping would time out before the server's close frame reaches it
            client(small_queues, lot, sock=stuck_sock, max_queue=1, ping_interval=None) as stuck,
            client(small_queues, lot) as viewer,
        ):
            await stuck.hello()
            await viewer.hello()
            price = 34_380_000
            # 100 bids a call until the stuck one is dropped: the kernel's send buffer on
            # loopback grows to megabytes, so that takes thousands of events (long bid ids,
            # which every event carries, make them fewer)
            for batch in range(1000):
                bids = []
                for i in range(100):
                    price += 500_000
                    bid_id = f"{batch}-{i}-".ljust(MAX_ID, "x")
                    args = {"bidder_id": bidder["bidder_id"], "bid_id": bid_id}
                    bids.append(("bid", args | {"price": price}))
                reply = await book.decide(lot, bids)
                last: int = reply.answers[-1]["pseq"]  # as the public counts

                # the reading viewer keeps up, whatever the stuck one does
                def caught_up(m: Message, last: int = last) -> bool:
                    return m.get("seq") == last

                seen = await viewer.until(caught_up)
                assert [m["seq"] for m in seen] == list(range(last - 99, last + 1))
                if "openbid_ws_queue_drops_total 1.0" in (await admin.get("/metrics")).text:
                    break
            assert batch < 999, "the stuck viewer was never dropped"
            with pytest.raises(ConnectionClosed) as closed:  # it reads at last: its backlog,
                while True:  # then the close
                    await stuck.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == Close.TOO_SLOW


async def test_a_bid_on_one_process_is_seen_on_another(valkey_url: str, tmp_path: Path) -> None:
    async with (
        openbid_serve(tmp_path / "a", "--redis-url", valkey_url) as (one, _),
        openbid_serve(tmp_path / "b", "--redis-url", valkey_url) as (two, _),
        admin_client(one) as admin,
    ):
        lot = await make_lot(admin)
        a = await qualified_bidder(admin, lot, "甲")
        async with client(one, lot) as bidder, client(two, lot, "openbid.json.v1") as viewer:
            await bidder.hello(a["token"])
            await viewer.hello()
            ack = await bid(bidder, "1", 34_380_000)
            seen = await viewer.until(lambda m: m.get("kind") == "bid")
            assert seen[-1]["seq"] == ack["seq"] and seen[-1]["plate"] == a["plate"]


async def test_sigterm_closes_sockets_with_going_away(
    valkey_url: str, tmp_path: Path, book: LotBook
) -> None:
    async with openbid_serve(tmp_path, "--redis-url", valkey_url) as (url, process):
        async with admin_client(url) as admin:
            lot = await make_lot(admin)
            a = await qualified_bidder(admin, lot, "甲")
        async with client(url, lot) as bidder:
            await bidder.hello(a["token"])
            await bid(bidder, "0", 34_380_000)
            await bidder.send({"type": "bid", "bid_id": "1", "price": 34_880_000})
            process.send_signal(signal.SIGTERM)  # with a bid in flight
            got = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    got.append(await bidder.recv())
            assert closed.value.rcvd is not None and closed.value.rcvd.code == Close.GOING_AWAY
        await asyncio.wait_for(process.wait(), 15)
    acked = {"0"} | {m["bid_id"] for m in got if m["type"] == "ack"}
    logged = {e["bid_id"] for e in map(unpack, await book.logs.log(lot)) if e["kind"] == "bid"}
    assert acked == logged  # an answered bid is in the log, and nothing unanswered is


async def test_on_a_plain_asgi_server_events_go_through_the_outbox(
    valkey_url: str,
) -> None:
    async with serving(valkey_url, plain=True) as url, admin_client(url) as admin:
        lot, (a,) = await lot_in_limited(admin, "甲")
        async with client(url, lot) as bidder, client(url, lot, "openbid.json.v1") as viewer:
            await bidder.hello(a["token"])
            await viewer.hello(since=0)
            ack = await bid(bidder, "1", 34_380_000)
            seen = await viewer.until(lambda m: m.get("kind") == "bid")
            assert seen[-1]["seq"] == ack["seq"]
            assert seen[0]["kind"] == "created"  # the replay, then live, in order
            seqs = [m["seq"] for m in seen]
            assert seqs == sorted(set(seqs))


async def test_entries_pub_sub_lost_are_read_from_the_log(
    served: str, admin: httpx.AsyncClient, book: LotBook
) -> None:
    lot, (a,) = await lot_in_limited(admin, "甲")
    async with client(served, lot) as viewer:
        first = (await viewer.hello())["seq"]
        lost = [("bid", {"bidder_id": a["bidder_id"], "bid_id": f"lost{i}",
                         "price": 34_380_000 + i * 500_000}) for i in range(3)]  # fmt: skip
        # the script publishes on the channel it is given: these reach no one
        await book._lot(keys=book._keys(lot), args=[msgpack.packb(lost), 0, "nowhere", lot])
        await bid_directly(book, lot, a["bidder_id"], "seen", 36_380_000)
        seen = await viewer.until(lambda m: m.get("price") == 36_380_000)
    assert [m["seq"] for m in seen] == list(range(first + 1, first + 5))
    assert [m["price"] for m in seen] == [34_380_000, 34_880_000, 35_380_000, 36_380_000]


async def bid_directly(book: LotBook, lot: str, bidder_id: str, bid_id: str, price: int) -> None:
    reply = await book.command(
        lot, "bid", {"bidder_id": bidder_id, "bid_id": bid_id, "price": price}
    )
    assert reply.answer["accepted"]
