"""`openbid serve --workers 2` and the livestream: the host publishes through one worker; a
WHEP player whose offer the other worker takes is answered by the worker holding the stream
(forwarded over loopback) and sees the host's frames; its session ends through either
worker; the host's stop, through either, ends it, and a watch is then refused (409) as it
was before any stream. A holder killed outright: a watch is refused, nothing hangs. The
routing record itself, against the store: made while a studio holds a stream, never over
another worker's, gone at the stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import av
import httpx
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from redis.asyncio import Redis

from server.store.keys import stream_key
from server.web.app import WORKER_HEADER
from server.web.videoroute import VideoRoute
from streaming.video.studio import Studio
from tests.conftest import ADMIN, TIMEOUT, admin_client
from tests.server.services.test_openings import new_opening
from tests.server.test_workers import TRIES, Parent, two_workers
from tests.streaming.video.test_webrtc import pull, watch_state
from tests.streaming.video.test_whip import SDP, count_of, publisher

HOST = {"authorization": f"Bearer {ADMIN}"}


@pytest.fixture
async def peers() -> AsyncIterator[list[RTCPeerConnection]]:
    made: list[RTCPeerConnection] = []
    yield made
    await asyncio.gather(*(pc.close() for pc in made))


@contextlib.asynccontextmanager
async def through(
    url: str, worker: str, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on one connection that `worker` took (whichever worker is free accepts a
    new connection): fresh connections until one lands there. Use it at once: the worker
    closes an idle connection."""
    for _ in range(TRIES):
        async with httpx.AsyncClient(
            base_url=url, headers=headers, timeout=TIMEOUT, limits=httpx.Limits(max_connections=1)
        ) as http:
            if (await http.get("/api/health")).headers[WORKER_HEADER] == worker:
                yield http
                return
    raise AssertionError(f"{TRIES} connections, none taken by worker {worker}")


async def whip(admin: httpx.AsyncClient, opening_id: str, pc: RTCPeerConnection) -> tuple[str, str]:
    """Publish `pc` over WHIP: (its resource, the worker that took it)."""
    await pc.setLocalDescription(await pc.createOffer())
    answer = await admin.post(
        f"/api/openings/{opening_id}/whip", content=pc.localDescription.sdp, headers=SDP
    )
    assert answer.status_code == 201, answer.text
    await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
    return answer.headers["location"], answer.headers[WORKER_HEADER]


def receiver(peers: list[RTCPeerConnection]) -> RTCPeerConnection:
    pc = RTCPeerConnection()
    peers.append(pc)
    pc.addTransceiver("video", direction="recvonly")
    return pc


async def whep(
    url: str, worker: str, opening_id: str, pc: RTCPeerConnection
) -> tuple[httpx.Response, asyncio.Queue[av.VideoFrame], asyncio.Event]:
    """A WHEP player's offer through `worker`: its answer, its decoded frames, and an
    event set when the server lets it go."""
    frames, ended = asyncio.Queue[av.VideoFrame](), asyncio.Event()
    pc.on("track", lambda track: asyncio.ensure_future(pull(track, frames)))
    pc.on("connectionstatechange", lambda: watch_state(pc, ended))
    await pc.setLocalDescription(await pc.createOffer())
    async with through(url, worker) as http:
        answer = await http.post(
            f"/api/openings/{opening_id}/whep", content=pc.localDescription.sdp, headers=SDP
        )
    assert answer.headers[WORKER_HEADER] == worker
    if answer.status_code == 201:
        await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
    return answer, frames, ended


async def test_a_whep_player_on_the_other_worker_sees_the_stream(
    tmp_path: Path, valkey_url: str, redis: Redis, peers: list[RTCPeerConnection]
) -> None:
    async with (
        two_workers(tmp_path / "data", valkey_url) as parent,
        admin_client(parent.url) as admin,
    ):
        opening_id = await new_opening(admin)
        peers.append(encoder := publisher("VP8"))
        resource, holder = await whip(admin, opening_id, encoder)
        other = "1" if holder == "0" else "0"
        assert await redis.get(stream_key(opening_id))  # where the stream is, for the other

        first, frames, first_let_go = await whep(parent.url, other, opening_id, receiver(peers))
        assert first.status_code == 201, first.text
        assert first.headers["location"].startswith(f"/api/openings/{opening_id}/whep/")
        assert first.headers["access-control-allow-origin"] == "*"
        async with asyncio.timeout(TIMEOUT):
            seen = [await frames.get() for _ in range(15)]
        counts = [count_of(frame) for frame in seen]
        assert counts == sorted(counts) and counts[-1] - counts[0] >= 14  # the host's frames

        second, _, second_let_go = await whep(parent.url, other, opening_id, receiver(peers))
        assert second.status_code == 201, second.text
        json_watch = receiver(peers)
        await json_watch.setLocalDescription(await json_watch.createOffer())
        async with through(parent.url, other) as http:
            offer = {"sdp": json_watch.localDescription.sdp, "type": "offer"}
            answered = await http.post(f"/api/openings/{opening_id}/webrtc/watch", json=offer)
        assert answered.status_code == 200 and answered.json()["type"] == "answer"

        for worker, player, let_go in (
            (other, first, first_let_go),
            (holder, second, second_let_go),
        ):
            async with through(parent.url, worker) as http:
                assert (await http.delete(player.headers["location"])).status_code == 200
                assert (await http.delete(player.headers["location"])).status_code == 404
            async with asyncio.timeout(TIMEOUT):
                await let_go.wait()

        async with through(parent.url, other, HOST) as http:  # the host's stop, forwarded
            stopped = await http.delete(resource)
        assert stopped.status_code == 200 and stopped.json() == {"stopped": True}
        assert await redis.get(stream_key(opening_id)) is None
        for worker in (other, holder):
            late, _, _ = await whep(parent.url, worker, opening_id, receiver(peers))
            assert late.status_code == 409 and late.json()["code"] == "CONFLICT"

        await holder_dies(
            parent, admin, redis, peers
        )  # on the same server: two workers start slowly


async def holder_dies(
    parent: Parent, admin: httpx.AsyncClient, redis: Redis, peers: list[RTCPeerConnection]
) -> None:
    """A holder killed outright: a watch on the other worker is refused at once (its port
    refuses the forwarded offer), and the dead holder's record is forgotten."""
    opening_id = await new_opening(admin)
    peers.append(encoder := publisher("VP8"))
    _, holder = await whip(admin, opening_id, encoder)
    other = "1" if holder == "0" else "0"
    pid, mark = (await parent.pids())[int(holder)], len(parent.events)
    os.kill(pid, signal.SIGKILL)
    await parent.logged(re.compile(rf"worker {holder} \(pid {pid}\) exited with -9"), mark)
    refused, _, _ = await whep(parent.url, other, opening_id, receiver(peers))
    assert refused.status_code == 409 and refused.json()["code"] == "CONFLICT"
    assert await redis.get(stream_key(opening_id)) is None


async def test_the_routing_record_is_kept_while_live_and_gone_at_the_stop(
    tmp_path: Path, redis: Redis, peers: list[RTCPeerConnection]
) -> None:
    studio = Studio(tmp_path / "a")
    route = VideoRoute(redis, studio, "s" * 32, "127.0.0.1:1")
    studio.on_held = route.held
    other = VideoRoute(redis, Studio(tmp_path / "b"), "s" * 32, "127.0.0.1:2")
    stranger = VideoRoute(redis, Studio(tmp_path / "c"), "t" * 32, "127.0.0.1:3")
    opening_id, key = f"op-route-{os.getpid()}", stream_key(f"op-route-{os.getpid()}")
    try:
        peers.append(encoder := publisher("VP8"))
        await encoder.setLocalDescription(await encoder.createOffer())
        await studio.publish(opening_id, encoder.localDescription)
        assert await redis.get(key) == route.record.encode()  # before the answer is out
        assert 0 < await redis.pttl(key) <= 15_000
        assert await other.holder(opening_id) == route.record
        assert await route.holder(opening_id) is None  # itself: answer here
        assert await stranger.holder(opening_id) is None  # another server's workers

        await other.held(opening_id, True)  # the host published again, to another worker
        await route.refresh()
        assert await redis.get(key) == other.record.encode()  # not taken back
        await other.held(opening_id, False)
        await route.refresh()  # missing: made again by the one still live
        assert await redis.get(key) == route.record.encode()

        await studio.stop(opening_id)
        assert await redis.get(key) is None
    finally:
        await studio.close()
        for each in (route, other, stranger):
            await each.close()
