"""A livestream viewer may only receive (security review C1): an offer that would send is
refused before any peer exists, a malformed one is a 400 that leaves nothing behind, and a
viewer that sends anyway, against what it negotiated, costs the server no memory."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import av
import httpx
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

from auction.errors import BadRequest
from streaming.video.offers import check_offer
from streaming.video.studio import Studio
from tests.conftest import ADMIN, TIMEOUT
from tests.server.helpers import bearer, openbid_serve
from tests.server.services.test_openings import new_opening
from tests.streaming.video.test_webrtc import Synthetic, negotiate


class Noise(VideoStreamTrack):
    """640×480 of changing noise: what an attacker sends to make a decoder work and buffer.
    `sent` is set once `frames` frames have gone to the encoder."""

    def __init__(self, frames: int = 0) -> None:
        super().__init__()
        self.left, self.sent = frames, asyncio.Event()

    async def recv(self) -> av.VideoFrame:
        self.left -= 1
        if self.left <= 0:
            self.sent.set()
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(640, 480, "yuv420p")
        for plane in frame.planes:
            plane.update(os.urandom(plane.buffer_size))
        frame.pts, frame.time_base = pts, time_base
        return frame


async def _offer(pc: RTCPeerConnection) -> str:
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    return sdp


@pytest.mark.parametrize(
    ("sdp", "viewer"),
    [
        ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\n", True),
        ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", True),  # no direction: sendrecv
        ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\n", True),
        ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n", False),
        ("v=0\r\n" + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n" * 2, True),
        ("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=recvonly\r\n", True),
        ("v=0\r\nm=video x\r\n", True),
        ("m=", True),
    ],
)
def test_offers_that_may_not_be_answered(sdp: str, viewer: bool) -> None:
    with pytest.raises(Exception) as refused:
        check_offer(sdp, viewer=viewer)
    assert getattr(refused.value, "http_status", None) == 400


def test_a_receive_only_viewer_offer_is_fine() -> None:
    sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n"
    sdp += "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=inactive\r\n"
    check_offer(sdp, viewer=True)


async def live(admin: httpx.AsyncClient) -> tuple[str, RTCPeerConnection]:
    """An opening whose host publishes a synthetic camera: its webrtc path, the publisher."""
    base = f"/api/openings/{await new_opening(admin)}/webrtc"
    publisher = RTCPeerConnection()
    publisher.addTransceiver(Synthetic(), direction="sendonly")
    await negotiate(admin, f"{base}/publish", publisher)
    return base, publisher


async def test_a_sending_viewer_is_refused_over_http(
    admin: httpx.AsyncClient, public: httpx.AsyncClient
) -> None:
    base, publisher = await live(admin)
    sender = RTCPeerConnection()
    try:
        sender.addTrack(Noise())  # sendrecv
        offer = {"sdp": await _offer(sender), "type": "offer"}
        refused = await public.post(f"{base}/watch", json=offer)
        assert refused.status_code == 400 and refused.json()["code"] == "BAD_MESSAGE"
        for path, sdp in ((f"{base}/watch", UNANSWERABLE), (f"{base}/publish", "v=0\r\nm=x\r\n")):
            bad = await admin.post(path, json={"sdp": sdp, "type": "offer"})
            assert bad.status_code == 400 and bad.json()["field"] == "sdp", bad.text
    finally:
        await asyncio.gather(publisher.close(), sender.close())


# aiortc parses this but cannot answer it: no codec in common
UNANSWERABLE = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 120\r\na=rtpmap:120 H265/90000\r\na=recvonly\r\n"
)


async def test_an_offer_that_cannot_be_answered_leaves_no_peer(tmp_path: Path) -> None:
    studio = Studio(tmp_path)
    publisher = RTCPeerConnection()
    try:
        publisher.addTransceiver(Synthetic(), direction="sendonly")
        answer = await studio.publish(
            "op1", RTCSessionDescription(await _offer(publisher), "offer")
        )
        await publisher.setRemoteDescription(answer)
        with pytest.raises(BadRequest):
            await studio.watch("op1", RTCSessionDescription(UNANSWERABLE, "offer"))
        sending = UNANSWERABLE.replace("recvonly", "sendonly")
        with pytest.raises(BadRequest):
            await studio.publish("op1", RTCSessionDescription(sending, "offer"))
        assert studio.peers == {studio.broadcasts["op1"].publisher}  # the stream is untouched
    finally:
        await publisher.close()
        await studio.close()


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def test_a_viewer_that_sends_anyway_costs_no_memory(tmp_path: Path, valkey_url: str) -> None:
    """The review's attack (an offer that sends, decoded into an unbounded queue at about
    14 MB a second) is refused outright above. Here the viewer offers receive-only, then
    sends 640×480 noise regardless: the server holds no receiver on a viewer's connection,
    so its memory stays flat."""
    async with (
        openbid_serve(tmp_path, "--redis-url", valkey_url) as (url, process),
        httpx.AsyncClient(base_url=url, timeout=TIMEOUT, headers=bearer(ADMIN)) as admin,
    ):
        base, publisher = await live(admin)
        viewer = RTCPeerConnection()
        try:
            noise = Noise(frames=150)  # five seconds at 30 fps
            viewer.addTrack(noise)
            lie = (await _offer(viewer)).replace("a=sendrecv", "a=recvonly")
            answer = await admin.post(f"{base}/watch", json={"sdp": lie, "type": "offer"})
            assert answer.status_code == 200, answer.text
            connected = asyncio.Event()

            def on_state_change() -> None:
                if viewer.connectionState == "connected":
                    connected.set()

            viewer.on("connectionstatechange", on_state_change)
            told = answer.json()["sdp"].replace("a=sendonly", "a=sendrecv")
            await viewer.setRemoteDescription(RTCSessionDescription(sdp=told, type="answer"))
            async with asyncio.timeout(TIMEOUT):
                await connected.wait()
            start = _rss(process.pid)
            async with asyncio.timeout(3 * TIMEOUT):
                await noise.sent.wait()
            grown = _rss(process.pid) - start
            # about 19 MiB alone, the same after 15 s of noise as after 5 (a warm-up, not
            # held packets), more beside other tests; a decoding queue would hold 70 MB
            assert grown < 32 * 1024 * 1024, f"the server grew by {grown / 2**20:.0f} MiB"
        finally:
            await viewer.close()
            await publisher.close()
