"""The live room over real WebSockets: a full lot in both subprotocols, resume with `since`,
privacy, sessions, and answers to bad frames."""

from __future__ import annotations

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.limits import Limits
from server.store.lots import LotBook
from server.store.scripts import unpack
from streaming.rooms.wire import Close
from tests.server.helpers import lot_in_limited
from tests.server.wsclient import Client, Message, client

SUBPROTOCOLS = ["openbid.msgpack.v1", "openbid.json.v1"]


def answer(m: Message) -> bool:
    return m["type"] in ("ack", "nack", "error")


async def bid(who: Client, bid_id: str, price: int) -> Message:
    await who.send({"type": "bid", "bid_id": bid_id, "price": price})
    return (await who.until(answer))[-1]


@pytest.mark.parametrize("mine", SUBPROTOCOLS)
async def test_a_full_lot_played_over_websockets(
    served: str, admin: httpx.AsyncClient, mine: str
) -> None:
    other = next(p for p in SUBPROTOCOLS if p != mine)
    lot, (a, b) = await lot_in_limited(admin, "甲公司", "乙公司", countdown_s=1, reserve=34_880_000)
    async with (
        client(served, lot, mine) as ca,
        client(served, lot, other) as cb,
        client(served, lot, mine) as viewer,
        client(served, lot, other) as viewer2,
    ):
        assert (await ca.hello(a["token"]))["plate"] == a["plate"]
        assert (await cb.hello(b["token"]))["role"] == "bidder"
        welcome = await viewer.hello(since=0)
        assert welcome["role"] == "public" and "plate" not in welcome
        await viewer2.hello()
        first = await bid(ca, "1", 34_380_000)
        assert first["type"] == "ack" and first["price"] == 34_380_000
        low = await bid(cb, "1", 34_380_000)
        assert low["type"] == "nack" and low["code"] == "TOO_LOW" and low["bid_id"] == "1"
        second = await bid(cb, "2", 34_880_000)
        assert second["type"] == "ack" and second["seq"] > first["seq"]
        again = await bid(ca, "1", 99)  # resent bid_id: the first answer, nothing new
        assert again["seq"] == first["seq"] and again["price"] == 34_380_000
        for watcher in (viewer, viewer2):
            seen = await watcher.until(lambda m: m.get("kind") == "closed")
            bids = [(m["plate"], m["price"]) for m in seen if m.get("kind") == "bid"]
            assert bids == [(a["plate"], 34_380_000), (b["plate"], 34_880_000)]
            assert seen[-1]["outcome"] == "sold" and seen[-1]["winner_plate"] == b["plate"]
            assert all(m["type"] == "event" and "server_now" in m for m in seen)
    result = (await admin.get(f"/api/lots/{lot}/result")).json()
    assert result["winner_name"] == "乙公司"


async def test_reconnect_with_since_gets_exactly_the_missed_events(
    served: str, admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    lot, (a, b) = await lot_in_limited(admin, "甲", "乙")
    async with client(served, lot) as ca, client(served, lot) as cb:
        await ca.hello(a["token"])
        await cb.hello(b["token"])
        async with client(served, lot) as viewer:
            await viewer.hello(since=0)
            await bid(ca, "1", 34_380_000)
            last = (await viewer.until(lambda m: m.get("kind") == "bid"))[-1]["seq"]
        # the viewer is gone in the 限时 countdown; the bidding goes on
        for i, who in enumerate([cb, ca, cb, ca]):
            assert (await bid(who, f"r{i}", 34_880_000 + i * 500_000))["type"] == "ack"
        expected = (await public.get(f"/api/lots/{lot}/events?since={last}")).json()["events"]
        async with client(served, lot) as viewer:
            await viewer.hello(since=last)
            replayed = [await viewer.recv() for _ in expected]
            await bid(ca, "live", 37_380_000)  # then live, with no gap and no duplicate
            live = await viewer.until(lambda m: m.get("kind") == "bid")
    strip = [{k: v for k, v in m.items() if k not in ("type", "server_now")} for m in replayed]
    assert strip == expected and len(expected) == 4
    assert [m["seq"] for m in live] == [expected[-1]["seq"] + 1]


async def test_public_frames_never_carry_a_name_or_the_reserve(
    served: str, admin: httpx.AsyncClient
) -> None:
    reserve = 35_380_000
    lot, (a, b) = await lot_in_limited(
        admin, "甲秘密公司", "乙秘密公司", countdown_s=1, reserve=reserve
    )
    async with (
        client(served, lot, "openbid.json.v1") as viewer,
        client(served, lot) as ca,
        client(served, lot) as cb,
    ):
        await viewer.hello(since=0)
        await ca.hello(a["token"])
        await cb.hello(b["token"])
        await bid(ca, "1", 34_380_000)
        await cb.send({"type": "bid", "bid_id": "x", "price": 1})  # refused, logged privately
        seen = await cb.until(answer)
        assert seen[-1]["code"] == "TOO_LOW"
        if not any(m.get("kind") == "refused" for m in seen):  # the event may come after
            seen = await cb.until(lambda m: m.get("kind") == "refused")
        own = next(m for m in seen if m.get("kind") == "refused")
        assert own["plate"] == b["plate"] and own["bid_id"] == "x"  # its own refusal
        raw: list[str] = []
        while True:
            frame = await viewer.ws.recv()
            assert isinstance(frame, str)
            raw.append(frame)
            if '"kind":"closed"' in frame:
                break
    before, closed = raw[:-1], raw[-1]
    for text in before:
        assert "秘密" not in text and str(reserve) not in text and '"refused"' not in text
    assert str(reserve) in closed  # revealed with the result: 34.38 is below it, 流拍
    assert "秘密" not in closed


async def test_a_second_sign_in_closes_the_first_session(
    served: str, admin: httpx.AsyncClient
) -> None:
    lot, (a,) = await lot_in_limited(admin, "甲")
    async with client(served, lot) as old, client(served, lot) as new:
        await old.hello(a["token"])
        await new.hello(a["token"])
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await old.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == Close.REPLACED
        assert (await bid(new, "1", 34_380_000))["type"] == "ack"


BAD_FRAMES: list[tuple[Message, str]] = [
    ({"type": "bid", "bid_id": "p", "price": 34_380_000}, "FORBIDDEN"),  # a viewer may not bid
    ({"type": "nope"}, "BAD_MESSAGE"),
    ({"type": "ping", "t": "x"}, "BAD_MESSAGE"),
    ({"type": "hello"}, "BAD_MESSAGE"),
]


async def test_viewers_get_codes_for_what_they_may_not_do(
    served: str, admin: httpx.AsyncClient
) -> None:
    lot, _ = await lot_in_limited(admin)
    async with client(served, lot) as viewer:
        await viewer.hello()
        for frame, code in BAD_FRAMES:
            await viewer.send(frame)
            got = (await viewer.until(answer))[-1]
            assert got["code"] == code, frame
        await viewer.ws.send("text in a binary protocol")
        assert (await viewer.until(answer))[-1]["code"] == "BAD_MESSAGE"
        await viewer.send({"type": "ping", "t": 1})
        assert (await viewer.recv())["type"] == "pong"  # still open


async def test_hello_is_required_and_checked(served: str, admin: httpx.AsyncClient) -> None:
    lot, _ = await lot_in_limited(admin)
    cases: list[tuple[Message, int]] = [
        ({"type": "ping", "t": 1}, Close.NO_HELLO),
        ({"type": "hello", "token": "x"}, 4401),
    ]
    for first, code in cases:
        async with client(served, lot) as c:
            await c.send(first)
            assert (await c.recv())["type"] == "error"
            with pytest.raises(ConnectionClosed) as closed:
                await c.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    async with client(served, "no-such-lot") as c:
        assert (await c.hello())["code"] == "NOT_FOUND"


async def test_a_browser_from_another_origin_is_refused(
    served: str, admin: httpx.AsyncClient
) -> None:
    lot, _ = await lot_in_limited(admin)
    with pytest.raises(Exception, match="403"):
        async with client(served, lot, origin="https://evil.example"):
            pass
    host = served.removeprefix("http://")
    async with client(served, lot, origin=f"http://{host}") as c:
        assert (await c.hello())["type"] == "welcome"


async def test_a_bidder_sending_too_fast_is_rate_limited_and_nothing_is_decided(
    served: str, admin: httpx.AsyncClient, book: LotBook
) -> None:
    lot, (a,) = await lot_in_limited(admin, "甲")
    async with client(served, lot) as c:
        await c.hello(a["token"])
        answers = [
            await bid(c, str(i), 34_380_000 + i * 500_000) for i in range(Limits().bid_burst + 2)
        ]
    codes = [m.get("code", "ACK") for m in answers]
    assert "RATE_LIMITED" in codes  # the burst is spent long before the bucket refills
    logged = {e["bid_id"] for e in map(unpack, await book.logs.log(lot)) if "bid_id" in e}
    assert logged == {m["bid_id"] for m in answers if m["type"] == "ack"}


async def test_a_frame_over_the_size_limit_closes_the_socket(
    served: str, admin: httpx.AsyncClient
) -> None:
    lot, _ = await lot_in_limited(admin)
    async with client(served, lot) as c:
        await c.hello()
        await c.ws.send(b"\x00" * (Limits().max_frame + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await c.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == Close.TOO_BIG


@pytest.mark.parametrize("path", ["/ws/lots/", "/ws/lots/a/b", "/ws/auctions/a", "/ws/lots"])
async def test_a_websocket_to_no_room_is_refused(served: str, path: str) -> None:
    with pytest.raises(InvalidStatus, match="403"):
        async with connect(served.replace("http", "ws", 1) + path):
            pass
