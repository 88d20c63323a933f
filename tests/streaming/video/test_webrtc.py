"""The livestream end to end on loopback: a Python aiortc publisher with a synthetic video
track, two Python viewers that decode what the server forwards (never re-encoded), and a
recording in the opening's archive that PyAV reads back."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

from tests.conftest import TIMEOUT, admin_client, serving
from tests.server.services.test_openings import new_opening

WIDTH, HEIGHT = 640, 360  # 360p
LUMA = 180  # the synthetic picture's brightness: what the viewers must see again


class Synthetic(VideoStreamTrack):
    """A flat grey 360p picture at 30 frames a second."""

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane, value in zip(frame.planes, (LUMA, 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


async def negotiate(http: httpx.AsyncClient, path: str, pc: RTCPeerConnection, **kw: Any) -> None:
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}
    answer = await http.post(path, json=offer, **kw)
    assert answer.status_code == 200, answer.text
    await pc.setRemoteDescription(RTCSessionDescription(**answer.json()))


def mean_luma(frame: av.VideoFrame) -> float:
    plane = bytes(frame.planes[0])
    return sum(plane[:: len(plane) // 997]) / len(plane[:: len(plane) // 997])


@pytest.fixture
async def peers() -> AsyncIterator[list[RTCPeerConnection]]:
    made: list[RTCPeerConnection] = []
    yield made
    await asyncio.gather(*(pc.close() for pc in made))


async def test_two_viewers_decode_the_forwarded_stream_and_the_recording_plays(
    served: str, admin: httpx.AsyncClient, peers: list[RTCPeerConnection], tmp_path: Path
) -> None:
    opening_id = await new_opening(admin)
    base = f"/api/openings/{opening_id}/webrtc"
    publisher = RTCPeerConnection()
    peers.append(publisher)
    publisher.addTransceiver(Synthetic(), direction="sendonly")
    await negotiate(admin, f"{base}/publish", publisher)

    received: list[asyncio.Queue[av.VideoFrame]] = []
    closed: list[asyncio.Event] = []
    async with httpx.AsyncClient(base_url=served, timeout=TIMEOUT) as public:
        for _ in range(2):
            viewer, frames, ended = (
                RTCPeerConnection(),
                asyncio.Queue[av.VideoFrame](),
                asyncio.Event(),
            )
            peers.append(viewer)
            viewer.addTransceiver("video", direction="recvonly")
            viewer.on("track", lambda track, q=frames: asyncio.ensure_future(pull(track, q)))
            viewer.on("connectionstatechange", lambda v=viewer, e=ended: watch_state(v, e))
            await negotiate(public, f"{base}/watch", viewer)
            received.append(frames)
            closed.append(ended)

        for frames in received:
            async with asyncio.timeout(TIMEOUT):
                seen = [await frames.get() for _ in range(10)]
            assert {(f.width, f.height) for f in seen} == {(WIDTH, HEIGHT)}
            assert abs(mean_luma(seen[-1]) - LUMA) < 8

        assert (await admin.post(f"{base}/stop")).status_code == 200
        async with asyncio.timeout(TIMEOUT):
            for ended in closed:  # the server closed every viewer's connection
                await ended.wait()

    bundle = await admin.get(f"/api/openings/{opening_id}/archive")
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        videos = [n for n in archive.namelist() if n.startswith("video/")]
        assert "audit.json" in archive.namelist() and len(videos) == 1
        path = tmp_path / "stream.mkv"
        path.write_bytes(archive.read(videos[0]))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()  # the recording, in the log
    query = f"/api/log/inclusion?log={opening_id}-documents&entry={digest}"
    assert (await admin.get(query)).status_code == 200
    with av.open(str(path)) as container:
        decoded = [f for f in container.decode(video=0)]
    assert len(decoded) >= 10
    assert (decoded[0].width, decoded[0].height) == (WIDTH, HEIGHT)
    assert abs(mean_luma(decoded[-1]) - LUMA) < 8


async def pull(track: Any, frames: asyncio.Queue[av.VideoFrame]) -> None:
    while True:
        try:
            frames.put_nowait(await track.recv())
        except Exception:
            return


def watch_state(pc: RTCPeerConnection, ended: asyncio.Event) -> None:
    if pc.connectionState in ("closed", "failed"):
        ended.set()


async def test_watching_before_the_host_publishes_is_refused(
    admin: httpx.AsyncClient, peers: list[RTCPeerConnection]
) -> None:
    opening_id = await new_opening(admin)
    viewer = RTCPeerConnection()
    peers.append(viewer)
    viewer.addTransceiver("video", direction="recvonly")
    await viewer.setLocalDescription(await viewer.createOffer())
    offer = {"sdp": viewer.localDescription.sdp, "type": "offer"}
    refused = await admin.post(f"/api/openings/{opening_id}/webrtc/watch", json=offer)
    assert refused.status_code == 409 and refused.json()["code"] == "CONFLICT"
    bad = await admin.post(f"/api/openings/{opening_id}/webrtc/watch", json={"type": "offer"})
    assert bad.status_code == 422 and bad.json()["field"] == "sdp"


async def test_shutdown_closes_every_peer_connection(
    valkey_url: str, peers: list[RTCPeerConnection]
) -> None:
    async with serving(valkey_url) as url, admin_client(url) as admin:
        opening_id = await new_opening(admin)
        base = f"/api/openings/{opening_id}/webrtc"
        publisher, viewer, ended = RTCPeerConnection(), RTCPeerConnection(), asyncio.Event()
        peers += [publisher, viewer]
        publisher.addTransceiver(Synthetic(), direction="sendonly")
        await negotiate(admin, f"{base}/publish", publisher)
        viewer.addTransceiver("video", direction="recvonly")
        connected = asyncio.Event()

        def changed() -> None:
            if viewer.connectionState == "connected":
                connected.set()
            watch_state(viewer, ended)

        viewer.on("connectionstatechange", changed)
        await negotiate(admin, f"{base}/watch", viewer)
        async with asyncio.timeout(TIMEOUT):
            await connected.wait()
    async with asyncio.timeout(TIMEOUT):
        await ended.wait()  # the server said goodbye on its way down


async def test_a_host_who_reconnects_replaces_the_stream_without_losing_viewers(
    served: str, admin: httpx.AsyncClient, peers: list[RTCPeerConnection], tmp_path: Path
) -> None:
    opening_id = await new_opening(admin)
    base = f"/api/openings/{opening_id}/webrtc"
    first, second, viewer = RTCPeerConnection(), RTCPeerConnection(), RTCPeerConnection()
    peers += [first, second, viewer]
    first.addTransceiver(Synthetic(), direction="sendonly")
    await negotiate(admin, f"{base}/publish", first)
    frames = asyncio.Queue[av.VideoFrame]()
    viewer.addTransceiver("video", direction="recvonly")
    viewer.on("track", lambda track: asyncio.ensure_future(pull(track, frames)))
    await negotiate(admin, f"{base}/watch", viewer)
    async with asyncio.timeout(TIMEOUT):
        for _ in range(5):
            await frames.get()
        second.addTransceiver(Synthetic(), direction="sendonly")
        await negotiate(admin, f"{base}/publish", second)  # the host's browser reloaded
        await first.close()
        while not frames.empty():
            frames.get_nowait()
        for _ in range(10):  # the viewer keeps watching, now the second stream
            assert (await frames.get()).width == WIDTH
    await admin.post(f"{base}/stop")
    bundle = await admin.get(f"/api/openings/{opening_id}/archive")
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        videos = sorted(n for n in archive.namelist() if n.startswith("video/"))
        for number, name in enumerate(videos):
            (tmp_path / f"{number}.mkv").write_bytes(archive.read(name))
    assert len(videos) == 2  # one recording per publisher, both closed properly
    for number in range(2):
        with av.open(str(tmp_path / f"{number}.mkv")) as container:
            assert sum(1 for _ in container.decode(video=0)) >= 1
