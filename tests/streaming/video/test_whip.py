"""WHIP (RFC 9725) and WHEP over plain HTTP, as an encoder (OBS, GStreamer) and a player
speak them: an aiortc publisher whose frames carry their number in their pixels, sending
VP8 (a browser's codec) or H.264 (OBS's), and an aiortc player that must see those very
frames, forwarded without re-encoding. Deleting the WHIP resource ends the stream as the
host's stop does: the player is let go, the recording's hash goes in the log."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from typing import Any

import av
import httpx
import pytest
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription, VideoStreamTrack

from tests.conftest import TIMEOUT
from tests.server.services.test_openings import new_opening
from tests.server.wsclient import client
from tests.streaming.video.test_webrtc import pull, watch_state

WIDTH, HEIGHT, BITS, BLOCK = 640, 360, 16, 32
SDP = {"content-type": "application/sdp"}


class Counted(VideoStreamTrack):
    """360p at 30 fps; frame n shows n (mod 2^16) as 16 black or white blocks across the
    top, big enough to survive any encoder, over a mid-grey picture."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        row = b"".join(
            bytes([235 if self.count >> bit & 1 else 16]) * (WIDTH // BITS) for bit in range(BITS)
        )
        frame.planes[0].update(row * BLOCK + b"\x80" * WIDTH * (HEIGHT - BLOCK))
        for plane in frame.planes[1:]:
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts, frame.time_base, self.count = pts, time_base, self.count + 1
        return frame


def count_of(frame: av.VideoFrame) -> int:
    """The number a Counted frame shows, read back from a decoded (any size) picture."""
    grey = frame.reformat(WIDTH, HEIGHT, "yuv420p").planes[0]
    row = bytes(grey)[grey.line_size * (BLOCK // 2) :][:WIDTH]
    step = WIDTH // BITS
    return sum(1 << bit for bit in range(BITS) if row[bit * step + step // 2] > 128)


def publisher(codec: str) -> RTCPeerConnection:
    """An encoder's peer connection: one Counted video track, sending `codec` only."""
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver(Counted(), direction="sendonly")
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType == f"video/{codec}"])
    return pc


async def offer_sdp(http: httpx.AsyncClient, path: str, pc: RTCPeerConnection) -> str:
    """POST `pc`'s offer as application/sdp; take the 201's answer; its Location."""
    await pc.setLocalDescription(await pc.createOffer())
    answer = await http.post(path, content=pc.localDescription.sdp, headers=SDP)
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("application/sdp")
    assert answer.headers["access-control-allow-origin"] == "*"
    await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
    location: str = answer.headers["location"]
    return location


async def player(http: httpx.AsyncClient, opening_id: str, peers: list[RTCPeerConnection]) -> Any:
    """A WHEP player: (its Location, its decoded frames' queue, set when it is let go)."""
    pc, frames, ended = RTCPeerConnection(), asyncio.Queue[av.VideoFrame](), asyncio.Event()
    peers.append(pc)
    pc.addTransceiver("video", direction="recvonly")
    pc.on("track", lambda track: asyncio.ensure_future(pull(track, frames)))
    pc.on("connectionstatechange", lambda: watch_state(pc, ended))
    location = await offer_sdp(http, f"/api/openings/{opening_id}/whep", pc)
    return location, frames, ended


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_an_encoder_publishes_over_whip_and_a_whep_player_sees_its_frames(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, peers: list[RTCPeerConnection], codec: str
) -> None:
    opening_id = await new_opening(admin)
    assert (await public.get(f"/api/openings/{opening_id}")).json()["live"] is False
    encoder = publisher(codec)
    peers.append(encoder)
    resource = await offer_sdp(admin, f"/api/openings/{opening_id}/whip", encoder)
    assert resource.startswith(f"/api/openings/{opening_id}/whip/")
    assert (await public.get(f"/api/openings/{opening_id}")).json()["live"] is True
    assert (await public.get(f"/live/openings/{opening_id}/status")).text.startswith("live")

    leaving, frames, let_go = await player(public, opening_id, peers)
    answered = peers[-1].remoteDescription.sdp  # the player gets the encoder's codec as it is
    other = "VP8" if codec == "H264" else "H264"
    assert f" {codec}/90000" in answered and f" {other}/90000" not in answered
    async with asyncio.timeout(TIMEOUT):
        seen = [await frames.get() for _ in range(15)]
    assert {(f.width, f.height) for f in seen} == {(WIDTH, HEIGHT)}
    counts = [count_of(f) for f in seen]
    assert counts == sorted(counts) and counts[-1] - counts[0] >= 14  # the encoder's frames

    assert (await public.delete(leaving)).status_code == 200  # the player leaves
    assert (await public.delete(leaving)).status_code == 404
    async with asyncio.timeout(TIMEOUT):
        await let_go.wait()
    stopped = await admin.delete(resource)
    assert stopped.status_code == 200 and stopped.json() == {"stopped": True}
    assert (await public.get(f"/api/openings/{opening_id}")).json()["live"] is False
    assert (await admin.delete(resource)).status_code == 404
    bundle = await admin.get(f"/api/openings/{opening_id}/archive")
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        (video,) = [n for n in archive.namelist() if n.startswith("video/")]
        digest = hashlib.sha256(archive.read(video)).hexdigest()
    query = f"/api/log/inclusion?log={opening_id}-documents&entry={digest}"
    assert (await admin.get(query)).status_code == 200  # as the host's stop logs it


async def test_the_protocols_edges(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, peers: list[RTCPeerConnection]
) -> None:
    opening_id = await new_opening(admin)
    whip, whep = f"/api/openings/{opening_id}/whip", f"/api/openings/{opening_id}/whep"
    encoder = publisher("VP8")
    peers.append(encoder)
    await encoder.setLocalDescription(await encoder.createOffer())
    sdp = encoder.localDescription.sdp
    assert (await public.post(whip, content=sdp, headers=SDP)).status_code == 401
    wrong_type = await admin.post(whip, content=sdp, headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 422 and wrong_type.json()["field"] == "body"
    missing = await admin.post("/api/openings/op0000000000/whip", content=sdp, headers=SDP)
    assert missing.status_code == 404
    preflight = await public.options(whip)
    assert preflight.status_code == 204
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "POST" in preflight.headers["access-control-allow-methods"]

    viewer = RTCPeerConnection()
    peers.append(viewer)
    viewer.addTransceiver("video", direction="recvonly")
    await viewer.setLocalDescription(await viewer.createOffer())
    early = await public.post(whep, content=viewer.localDescription.sdp, headers=SDP)
    assert early.status_code == 409  # nothing to watch yet
    sending = await public.post(whep, content=sdp, headers=SDP)
    assert sending.status_code == 400  # a player may only receive

    peers.append(second := publisher("VP8"))
    resource = await offer_sdp(admin, whip, second)
    assert (await admin.patch(resource, content="a=candidate", headers=SDP)).status_code == 405
    assert (await admin.delete(f"{whip}/{'0' * 32}")).status_code == 404  # not its session
    assert (await public.delete(resource)).status_code == 401
    assert (await admin.delete(resource)).status_code == 200


async def test_the_room_is_told_at_once_when_the_host_goes_live_and_off(
    served: str, admin: httpx.AsyncClient, peers: list[RTCPeerConnection]
) -> None:
    """A `stream` notice in the opening's room, no log entry: a page asks for the video
    when told, not by polling, and never before there is one."""
    opening_id = await new_opening(admin)
    async with client(served, opening_id, room="openings") as watching:
        welcome = await watching.hello(since=0)
        assert welcome["opening"]["live"] is False
        encoder = publisher("VP8")
        peers.append(encoder)
        resource = await offer_sdp(admin, f"/api/openings/{opening_id}/whip", encoder)
        told = await watching.until(lambda m: m["type"] == "stream")
        assert told[-1] == {"type": "stream", "live": True}
        assert (await admin.delete(resource)).status_code == 200
        told = await watching.until(lambda m: m["type"] == "stream")
        assert told[-1] == {"type": "stream", "live": False}
        assert not [m for m in told if m["type"] == "event"]  # decides nothing: not logged
    async with client(served, opening_id, room="openings") as late:
        assert (await late.hello(since=0))["opening"]["live"] is False
