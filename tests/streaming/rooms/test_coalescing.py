"""Fewer syscalls per message: every frame a connection gets in one turn of the event loop
reaches its transport in one write (streaming/rooms/raw.py), over plain TCP and TLS, in
order, a lone event without delay, and the answer to a command in hand before the close.

The app is served in this process, so each test taps the server side of its own client:
the transport its protocol writes to is wrapped to keep every write (the store is real).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from server.store.embedded import free_port
from server.store.lots import LotBook
from server.web.app import Server, create_app
from streaming.rooms.connection import Connection
from streaming.rooms.raw import RawWebSocketProtocol
from streaming.rooms.wire import Close
from tests.conftest import ADMIN, SUPERVISOR, TEST_SECRETS, TIMEOUT
from tests.server.helpers import lot_in_limited
from tests.server.test_serve import self_signed
from tests.server.wsclient import Client, Message, client

BURST = 20  # bids decided in one batch: one pub/sub message of 20 public entries
TEXT, BINARY = 0x1, 0x2  # data frames' opcodes; pings, pongs and closes are uvicorn's own


class Tap:
    """A transport that keeps what it is asked to write, and writes it."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class Tapped:
    """The server side of one client: its protocol, what the app wrote through its
    transport and (under TLS) what went to the socket."""

    def __init__(self, protocol: RawWebSocketProtocol) -> None:
        self.protocol = protocol
        self.app = Tap(protocol.transport)
        wire = getattr(protocol.transport, "_ssl_protocol", None)  # asyncio's TLS layer
        self.wire = self.app if wire is None else Tap(wire._transport)
        if wire is not None:
            wire._transport = self.wire
        protocol.transport = self.app  # type: ignore[assignment]

    def data_writes(self) -> list[list[int]]:
        """The opcodes in each write of data frames since the last `clear`."""
        return [ops for ops in map(opcodes, self.app.writes) if set(ops) <= {TEXT, BINARY}]

    def clear(self) -> None:
        self.app.writes.clear()
        self.wire.writes.clear()

    def connection(self) -> Connection:
        """The room connection this socket serves (the app runs in this process)."""
        app: Any = self.protocol.config.app
        rooms = app.state.resources.rooms
        found: Connection = next(c for c in rooms.doors.open if c.raw is self.protocol)
        return found


def opcodes(data: bytes) -> list[int]:
    """The opcode of each whole frame (server to client: unmasked) in `data`."""
    found, at = [], 0
    while at < len(data):
        size, body = data[at + 1] & 0x7F, at + 2
        if size >= 126:
            width = 2 if size == 126 else 8
            size, body = int.from_bytes(data[body : body + width]), body + width
        found.append(data[at] & 0x0F)
        at = body + size
    assert at == len(data), "a write ended inside a frame"
    return found


@pytest.fixture
def taps(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[int, Tapped]]:
    """Every server-side socket opened during the test, by its client's port."""
    found: dict[int, Tapped] = {}
    made = RawWebSocketProtocol.connection_made

    def tapped(self: RawWebSocketProtocol, transport: Any) -> None:
        made(self, transport)
        found[transport.get_extra_info("peername")[1]] = Tapped(self)

    monkeypatch.setattr(RawWebSocketProtocol, "connection_made", tapped)
    yield found


def tap_of(taps: dict[int, Tapped], who: Client) -> Tapped:
    return taps[who.ws.local_address[1]]


def deliver(conn: Connection, n: int) -> None:
    """Hand `conn` its next event as the hub would (`n` tells the events apart)."""
    seq = conn.protocol.last + 1  # the audit seq the connection expects next
    payload = conn.codec.encode({"type": "event", "n": n, "kind": "test"})
    conn.deliver(seq, payload, conn.codec.wire(payload))


def burst(bidder_id: str, first_price: int, count: int) -> list[tuple[str, dict[str, Any]]]:
    return [("bid", {"bidder_id": bidder_id, "bid_id": f"b{first_price + i}",
                     "price": first_price + i * 500_000}) for i in range(count)]  # fmt: skip


async def decide_and_watch(
    book: LotBook, lot: str, bidder_id: str, viewer: Client, count: int
) -> list[Message]:
    """Decide `count` bids in one batch; returns what the viewer saw, up to the last."""
    first = viewer.received[-1]["seq"]
    reply = await book.decide(lot, burst(bidder_id, 34_380_000, count))
    assert all(answer["accepted"] for answer in reply.answers), reply.answers
    seen = await viewer.until(lambda m: m.get("price") == 34_380_000 + (count - 1) * 500_000)
    assert [m["seq"] for m in seen] == list(range(first + 1, first + count + 1))
    return seen


@pytest.mark.parametrize("count", [1, BURST])
async def test_a_batch_of_bids_reaches_a_viewer_in_one_write(
    served: str, admin: httpx.AsyncClient, book: LotBook, taps: dict[int, Tapped], count: int
) -> None:
    lot, (a,) = await lot_in_limited(admin, "甲")
    async with client(served, lot) as viewer, client(served, lot, "openbid.json.v1") as text:
        for each in (viewer, text):
            await each.hello()
            tap_of(taps, each).clear()
        seen = await decide_and_watch(book, lot, a["bidder_id"], viewer, count)
        assert [m["price"] for m in seen] == [34_380_000 + i * 500_000 for i in range(count)]
        assert (await text.until(lambda m: m.get("seq") == seen[-1]["seq"]))[1:] == seen[1:]
    assert tap_of(taps, viewer).data_writes() == [[BINARY] * count]
    assert tap_of(taps, text).data_writes() == [[TEXT] * count]


async def test_frames_of_several_batches_in_one_turn_go_in_one_write(
    served: str, admin: httpx.AsyncClient, taps: dict[int, Tapped]
) -> None:
    lot, _ = await lot_in_limited(admin, "甲")
    async with client(served, lot) as viewer:
        await viewer.hello()
        tapped = tap_of(taps, viewer)
        conn = tapped.connection()
        tapped.clear()
        for batch in range(3):  # what the hub does when three pub/sub messages land at once
            for n in range(batch * 4 + 1, batch * 4 + 5):
                deliver(conn, n)
        assert tapped.data_writes() == []  # queued: nothing written before the turn ends
        seen = await viewer.until(lambda m: m.get("n") == 12)
    assert [m["n"] for m in seen] == list(range(1, 13))
    assert tapped.data_writes() == [[BINARY] * 12]


async def test_a_lone_event_is_written_within_the_same_turn_of_the_loop(
    served: str, admin: httpx.AsyncClient, taps: dict[int, Tapped]
) -> None:
    lot, _ = await lot_in_limited(admin, "甲")
    async with client(served, lot) as viewer:
        await viewer.hello()
        tapped = tap_of(taps, viewer)
        conn = tapped.connection()
        tapped.clear()
        deliver(conn, 1)
        # sleep(0) yields exactly one turn: a flush on a timer, even of 0 s, comes later
        await asyncio.sleep(0)
        assert tapped.data_writes() == [[BINARY]]
        assert (await viewer.recv())["n"] == 1


async def test_the_answer_to_the_command_in_hand_precedes_the_close(
    served: str, admin: httpx.AsyncClient, taps: dict[int, Tapped]
) -> None:
    lot, (a,) = await lot_in_limited(admin, "甲")
    async with client(served, lot) as bidder:
        await bidder.hello(a["token"])
        conn = tap_of(taps, bidder).connection()
        decide = conn.venue.act

        async def act(*args: Any) -> dict[str, Any]:
            # the server starts shutting down while this bid is being decided
            conn.finish(Close.GOING_AWAY, "server shutting down")
            answer: dict[str, Any] = await decide(*args)
            return answer

        conn.venue.act = act  # type: ignore[method-assign,assignment]
        await bidder.send({"type": "bid", "bid_id": "last", "price": 34_380_000})
        # the ack is queued and the close follows in the same turn: it must not overtake
        assert (await bidder.recv())["type"] == "ack"
        with pytest.raises(ConnectionClosed) as closed:
            await bidder.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == Close.GOING_AWAY


@contextlib.asynccontextmanager
async def serving_tls(redis_url: str) -> AsyncIterator[tuple[str, ssl.SSLContext]]:
    """The real app in this process over HTTPS (a self-signed certificate); yields its URL
    and a client context that trusts it."""
    with tempfile.TemporaryDirectory(prefix="openbid-tls-") as folder:
        certfile, keyfile = self_signed(Path(folder))
        app = create_app(redis_url, ADMIN, data_dir=Path(folder) / "data",
                         supervisor_token=SUPERVISOR, **TEST_SECRETS)  # fmt: skip
        port = free_port()
        server = Server(app, "127.0.0.1", port, tls=(str(certfile), str(keyfile)))
        task = asyncio.create_task(server.serve())
        async with asyncio.timeout(TIMEOUT):
            while not server.started:
                await asyncio.sleep(0.01)  # uvicorn offers no startup event
        try:
            yield f"https://127.0.0.1:{port}", ssl.create_default_context(cafile=certfile)
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 3 * TIMEOUT)


async def test_over_tls_a_batch_is_one_write_and_one_encrypted_write(
    valkey_url: str, admin: httpx.AsyncClient, book: LotBook, taps: dict[int, Tapped]
) -> None:
    lot, (a,) = await lot_in_limited(admin, "甲")  # on the plain server: the same store
    async with (
        serving_tls(valkey_url) as (url, trust),
        client(url.replace("https://", "wss://"), lot, ssl=trust) as viewer,
    ):
        await viewer.hello()
        tapped = tap_of(taps, viewer)
        assert tapped.wire is not tapped.app  # under TLS the socket's transport is below
        tapped.clear()
        await decide_and_watch(book, lot, a["bidder_id"], viewer, BURST)
        assert tapped.data_writes() == [[BINARY] * BURST]
        assert len(tapped.wire.writes) == 1  # one write of ciphertext: one send
