"""A viewer's forwarded track: it starts at a keyframe, stays bounded, and a viewer that
falls behind skips to the next keyframe and asks the host for one."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError

from streaming.video.tap import QUEUE_FRAMES, EncodedFrame, ForwardedTrack, is_keyframe, vp8_size

KEY = b"\x10\x02\x00\x9d\x01\x2a\x80\x02\x68\x01"  # a VP8 keyframe header: 640 x 360
DELTA = b"\x11\x02\x00"


def frame(data: bytes, timestamp: int) -> EncodedFrame:
    return EncodedFrame("video", "VP8", data, timestamp, is_keyframe("VP8", data))


async def drain(track: ForwardedTrack) -> list[int | None]:
    got: list[int | None] = []
    while track._frames:
        got.append((await track.recv()).pts)
    return got


def test_a_vp8_keyframe_is_told_from_a_delta_frame_and_gives_its_size() -> None:
    assert is_keyframe("VP8", KEY) and not is_keyframe("VP8", DELTA)
    assert vp8_size(KEY) == (640, 360) and vp8_size(DELTA) is None


async def test_a_viewer_starts_at_a_keyframe() -> None:
    track = ForwardedTrack("video")
    for ts, data in enumerate((DELTA, DELTA, KEY, DELTA)):
        track.push(frame(data, ts))
    assert await drain(track) == [2, 3]


async def test_a_viewer_too_far_behind_skips_to_the_next_keyframe_and_asks_for_one() -> None:
    asked: list[bool] = []
    track = ForwardedTrack("video", lambda: asked.append(True))
    track.push(frame(KEY, 0))
    for ts in range(1, QUEUE_FRAMES + 5):
        track.push(frame(DELTA, ts))
    assert asked and len(track._frames) == 0  # the stale frames went, nothing half-decodable
    track.push(frame(DELTA, 1000))
    track.push(frame(KEY, 1001))
    assert await drain(track) == [1001]


async def test_a_stopped_track_wakes_its_reader() -> None:
    track = ForwardedTrack("video")
    reader = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)  # one turn of the loop: the reader is now waiting for a frame
    track.stop()
    with pytest.raises(MediaStreamError):
        await reader
