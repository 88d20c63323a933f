"""Encoded media in and out of aiortc without decoding or encoding it again.

aiortc's receiver reassembles each encoded frame and hands it to a decoder thread; its
sender encodes every frame it gets, unless the frame is an `av.Packet`, which it only
packetizes (`RTCRtpSender._next_encoded_frame`). A broadcast needs neither codec: `tap`
takes the receiver's encoded frames as they are reassembled (the decoder thread is left
idle), and a `ForwardedTrack` gives them to a viewer's sender as packets. One encoding,
made by the host's browser, reaches every viewer; the server's cost per viewer is
packetizing and SRTP, not a VP8 encoder (aiortc's `MediaRelay` path: decode once, encode
per viewer).
"""

from __future__ import annotations

import asyncio
import fractions
import queue
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver
from aiortc.mediastreams import MediaStreamError

__all__ = ["EncodedFrame", "ForwardedTrack", "is_keyframe", "tap", "vp8_size"]

CLOCK = {"video": fractions.Fraction(1, 90_000), "audio": fractions.Fraction(1, 48_000)}
QUEUE_FRAMES = 60  # about two seconds of video; a viewer further behind skips to a keyframe


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    kind: str  # "video" or "audio"
    codec: str  # "VP8", "H264", "opus"
    data: bytes
    timestamp: int  # RTP clock, from 0 at the first frame
    keyframe: bool


def is_keyframe(codec: str, data: bytes) -> bool:
    """Whether a viewer can start decoding at this frame."""
    if codec == "VP8":
        return bool(data) and not data[0] & 0x01  # RFC 6386 §9.1: P bit clear
    if codec == "H264":  # Annex B, as aiortc depayloads it: an IDR or SPS unit
        return any(unit and unit[0] & 0x1F in (5, 7) for unit in data.split(b"\x00\x00\x01"))
    return True  # audio: every frame stands alone


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """A VP8 keyframe's width and height (RFC 6386 §9.1)."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    return int.from_bytes(data[6:8], "little") & 0x3FFF, int.from_bytes(
        data[8:10], "little"
    ) & 0x3FFF


class _Tap(queue.Queue[Any]):
    """Stands in for a receiver's decoder queue: encoded frames go to `sink` (on the event
    loop, where aiortc puts them), the stop signal to the decoder thread as before."""

    def __init__(self, original: queue.Queue[Any], kind: str, sink: Callable[[EncodedFrame], None]):
        super().__init__()
        self.original, self.kind, self.sink = original, kind, sink

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:  # stop: whichever queue the decoder thread reads
            super().put(None)
            self.original.put(None)
            return
        codec, frame = item
        name = codec.mimeType.split("/")[1]
        data = bytes(frame.data)
        self.sink(EncodedFrame(self.kind, name, data, frame.timestamp, is_keyframe(name, data)))


def tap(receiver: RTCRtpReceiver, sink: Callable[[EncodedFrame], None]) -> None:
    """Send `receiver`'s encoded frames to `sink` instead of decoding them."""
    name = "_RTCRtpReceiver__decoder_queue"  # aiortc keeps it private; see the module doc
    original = getattr(receiver, name)
    kind = receiver.track.kind if receiver.track else "video"
    setattr(receiver, name, _Tap(original, kind, sink))


class ForwardedTrack(MediaStreamTrack):
    """One viewer's copy of a published track: encoded frames in, `av.Packet`s out. The
    queue is bounded; a viewer that falls behind drops to the next keyframe, so it never
    holds up the publisher or the other viewers."""

    def __init__(self, kind: str, on_behind: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._frames: deque[EncodedFrame] = deque()
        self._wake = asyncio.Event()
        self._waiting_for_key = kind == "video"
        self._on_behind = on_behind  # asks the publisher for a keyframe

    def push(self, frame: EncodedFrame) -> None:
        if self._waiting_for_key and not frame.keyframe:
            return
        self._waiting_for_key = False
        if len(self._frames) >= QUEUE_FRAMES:
            self._frames.clear()
            self._waiting_for_key = self.kind == "video" and not frame.keyframe
            if self._waiting_for_key:
                if self._on_behind is not None:
                    self._on_behind()
                return
        self._frames.append(frame)
        self._wake.set()

    def restart(self) -> None:
        """The publisher changed: what is queued belongs to the old stream."""
        self._frames.clear()
        self._waiting_for_key = self.kind == "video"

    async def recv(self) -> av.Packet[Any]:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._wake.clear()
            await self._wake.wait()
        frame = self._frames.popleft()
        packet = av.Packet(frame.data)
        packet.pts, packet.time_base = frame.timestamp, CLOCK[self.kind]
        return packet

    def stop(self) -> None:
        super().stop()
        self._wake.set()
