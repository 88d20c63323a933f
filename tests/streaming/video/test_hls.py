"""HLS for the large audience: an encoder publishes numbered frames over WHIP (VP8, which
the server encodes once as H.264, or H.264, muxed as it came); the playlist and segments
served over HTTP decode with PyAV into those very frames, in order, with the cache headers
a CDN needs; deleting the WHIP resource ends the playlist. The packager alone: a second
publisher continues the playlist after a discontinuity, the RTP clock may wrap, a full
queue drops to the next keyframe and asks the host for one."""

from __future__ import annotations

import asyncio
import fractions
import io
import itertools
import re
from collections.abc import Callable
from pathlib import Path

import av
import httpx
import pytest
from aiortc import RTCPeerConnection

from streaming.video.hls import QUEUE, Packager, is_live
from streaming.video.tap import EncodedFrame, is_keyframe
from tests.conftest import TIMEOUT
from tests.server.services.test_openings import new_opening
from tests.streaming.video.test_whip import HEIGHT, WIDTH, count_of, offer_sdp, publisher


async def until(check: Callable[[], object], step: float = 0.1) -> None:
    """Wait for something outside this process (files another thread writes, a server)."""
    async with asyncio.timeout(3 * TIMEOUT):
        while not check():
            await asyncio.sleep(step)


async def playlist(http: httpx.AsyncClient, opening_id: str) -> httpx.Response:
    return await http.get(f"/live/openings/{opening_id}/index.m3u8")


def segments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.endswith(".m4s")]


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_the_playlist_serves_the_published_frames_until_the_encoder_stops(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, peers: list[RTCPeerConnection], codec: str
) -> None:
    opening_id = await new_opening(admin)
    assert (await playlist(public, opening_id)).status_code == 404  # not live
    assert (await public.get(f"/live/openings/{opening_id}/status")).text == "off"
    encoder = publisher(codec)
    peers.append(encoder)
    resource = await offer_sdp(admin, f"/api/openings/{opening_id}/whip", encoder)
    listed: list[str] = []

    async def three_segments() -> bool:
        listed[:] = segments((await playlist(public, opening_id)).text)
        return len(listed) >= 3

    async with asyncio.timeout(3 * TIMEOUT):
        while not await three_segments():
            await asyncio.sleep(0.2)
    live = await playlist(public, opening_id)
    assert live.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert live.headers["cache-control"] == "public, max-age=1"
    assert live.headers["access-control-allow-origin"] == "*"
    assert "#EXT-X-ENDLIST" not in live.text and "#EXT-X-VERSION:7" in live.text
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", live.text)]
    assert all(0.5 <= d <= 2.5 for d in durations[:-1]), durations
    (init,) = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', live.text)

    base = f"/live/openings/{opening_id}"
    answers = [await public.get(f"{base}/{name}") for name in [init, *listed]]
    for answer in answers:
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["content-type"] == "video/mp4"
    counts = decoded_counts(b"".join(a.content for a in answers))
    assert len(counts) >= 45  # three segments of about a second at 30 fps
    steps = [b - a for a, b in itertools.pairwise(counts)]
    assert min(steps) >= 1 and sum(s == 1 for s in steps) >= 0.9 * len(steps), counts

    assert (await admin.delete(resource)).status_code == 200
    ended = await playlist(public, opening_id)
    assert ended.text.rstrip().endswith("#EXT-X-ENDLIST")  # written before the DELETE answers
    assert (await public.get(f"{base}/status")).text == "off"
    assert (await public.get(f"{base}/{init}")).status_code == 200  # still there to finish
    for wrong in ("../../recordings", "x.m4s", "index.m3u", f"{init}x"):
        assert (await public.get(f"{base}/{wrong}")).status_code == 404
    assert (await public.get("/live/openings/OP1/index.m3u8")).status_code == 404


def decoded_counts(fmp4: bytes) -> list[int]:
    """The frame numbers in an init segment followed by media segments, decoded."""
    with av.open(io.BytesIO(fmp4), "r", format="mp4") as container:
        assert not container.streams.audio  # the encoder sends no audio: video only
        frames = list(container.decode(video=0))
    assert {(f.width, f.height) for f in frames} == {(WIDTH, HEIGHT)}
    return [count_of(f) for f in frames]


# ---- the packager alone -------------------------------------------------------------------


def encoded(codec: str, count: int, first_ts: int, gop: int = 1000) -> list[EncodedFrame]:
    """`count` 30 fps frames of 320×240 grey encoded as `codec`, on an RTP clock that
    starts at `first_ts` (mod 2^32)."""
    encoder = av.CodecContext.create("libvpx" if codec == "VP8" else "libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.time_base, encoder.framerate = fractions.Fraction(1, 90_000), fractions.Fraction(30)
    encoder.gop_size = gop
    if codec == "H264":
        encoder.options = {"preset": "ultrafast", "tune": "zerolatency"}
    made = []
    for n in range(count):
        frame = av.VideoFrame(320, 240, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([n % 200 + 20]) * plane.buffer_size)
        frame.pts, frame.time_base = n * 3000, encoder.time_base
        for packet in encoder.encode(frame):
            data, ts = bytes(packet), (first_ts + (packet.pts or 0)) % (1 << 32)
            made.append(EncodedFrame("video", codec, data, ts, is_keyframe(codec, data)))
    return made


async def fed(packager: Packager, frames: list[EncodedFrame]) -> None:
    for frame in frames:
        packager.write(frame)
        await asyncio.sleep(0)


async def test_a_second_publisher_continues_after_a_discontinuity(tmp_path: Path) -> None:
    folder, asked = tmp_path / "op1", []
    packager = Packager(folder, lambda: asked.append(1))
    await fed(packager, encoded("VP8", 75, (1 << 32) - 45_000))  # the clock wraps at 0.5 s
    await until(lambda: is_live(folder))
    packager.restart()  # the host's browser reloaded: a new encoder, a new clock
    await fed(packager, encoded("H264", 45, 12345, gop=15))
    await packager.close()
    text = (folder / "index.m3u8").read_text()
    assert not is_live(folder) and text.rstrip().endswith("#EXT-X-ENDLIST")
    assert text.count("#EXT-X-DISCONTINUITY\n") == 1 and text.count("#EXT-X-MAP") == 2
    names = segments(text)
    assert len({name.split("-")[0] for name in names}) == 2  # each run its own names
    durations = [float(d) for d in re.findall(r"#EXTINF:([\d.]+),", text)]
    assert sum(durations) == pytest.approx(2.5 + 1.5, abs=0.1)  # every frame, no more
    assert asked == []


async def test_a_full_queue_drops_to_the_next_keyframe_and_asks_for_one(tmp_path: Path) -> None:
    asked: list[int] = []
    packager = Packager(tmp_path / "op2", lambda: asked.append(1))
    frames = encoded("H264", QUEUE + 20, 0, gop=QUEUE // 2)
    for frame in frames:  # all at once: the thread cannot keep up
        packager.write(frame)
    await packager.close()
    assert asked  # the host is asked for a keyframe to start again from
    assert segments((tmp_path / "op2" / "index.m3u8").read_text())
