"""The host's video as fragmented MP4 (CMAF) for HLS: H.264 muxed as it came, VP8 made into
H.264 first, once for the whole audience.

`Fragmenter` takes H.264 access units (Annex B, as aiortc depayloads them) and gives an
init segment (`ftyp` + `moov`) and, each time the caller cuts, the fragment (`moof` +
`mdat`) that the cut closes. FFmpeg's MP4 muxer (`frag_keyframe`) starts a fragment at
every packet flagged key, so the caller flags only the keyframes it cuts at: one fragment
is one HLS segment. The codec parameters (SPS and PPS) come from the first keyframe itself,
read by FFmpeg's raw H.264 demuxer, so nothing is decoded on this path.

`VP8ToH264` decodes the browser's VP8 and encodes it with libx264 (`ultrafast`,
`zerolatency`, no B-frames), forcing a keyframe every `gop` ticks of the 90 kHz clock, so
that segments come out at the length the packager asks. Everything here is blocking work
for the packager's thread (streaming/video/hls.py), never for the event loop.
"""

from __future__ import annotations

import fractions
import io
from typing import Any

import av

__all__ = ["TIME_BASE", "Fragmenter", "VP8ToH264", "add_h264_stream"]

TIME_BASE = fractions.Fraction(1, 90_000)
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"
BITS_PER_PIXEL = 0.1  # a frame's bits at most, per pixel: a camera's picture stays sharp
Unit = tuple[bytes, int, bool]  # an encoded frame: data, pts (90 kHz), keyframe


def add_h264_stream(out: Any, keyframe: bytes) -> Any:
    """Add to the output container `out` an H.264 stream whose parameters (size, SPS and
    PPS) are those of `keyframe`, an Annex B access unit; returns the stream, or None when
    the unit carries no SPS/PPS (wait for the next keyframe then). Nothing is decoded but
    what FFmpeg's probe of the one unit needs."""
    try:
        with av.open(io.BytesIO(keyframe), format="h264") as probe:
            template = probe.streams.video[0]
            if not template.codec_context.extradata or not template.codec_context.width:
                return None
            stream = out.add_stream_from_template(template, opaque=True)
    except (av.FFmpegError, IndexError):
        return None
    stream.time_base = TIME_BASE
    return stream


class _Boxes:
    """The muxer's output, as a file it writes to and can't seek in: top-level MP4 boxes
    are taken off whole as they complete."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def write(self, data: bytes) -> int:
        self._buffer += data
        return len(data)

    def take(self) -> list[tuple[bytes, bytes]]:
        """Every complete box written so far, as (type, the box's bytes)."""
        found: list[tuple[bytes, bytes]] = []
        while len(self._buffer) >= 8:
            size = int.from_bytes(self._buffer[:4], "big")
            if size < 8 or len(self._buffer) < size:
                break
            found.append((bytes(self._buffer[4:8]), bytes(self._buffer[:size])))
            del self._buffer[:size]
        return found


class Fragmenter:
    """One run of fragmented MP4 from one encoder: an init segment, then fragments. A new
    encoder (the host reconnected, a new size) needs a new Fragmenter."""

    def __init__(self, keyframe: bytes) -> None:
        """ValueError unless `keyframe` carries the codec's parameters (SPS and PPS)."""
        self._sink = _Boxes()
        self._out: Any = av.open(self._sink, "w", format="mp4", options={"movflags": MOVFLAGS})
        self._stream = add_h264_stream(self._out, keyframe)
        if self._stream is None:
            self._out.close()
            raise ValueError("no SPS/PPS in this keyframe")
        self.init = b""  # ftyp + moov, once the first unit is in
        self._fragment = bytearray()
        self._last_pts = -1

    def add(self, data: bytes, pts: int, cut: bool, duration: int) -> bytes | None:
        """Mux one access unit; `cut`: a segment starts with it (a keyframe). Returns the
        fragment that the cut closed, if any. A unit whose time does not move on is
        dropped: the muxer needs rising timestamps."""
        if pts <= self._last_pts:
            return None
        self._last_pts = pts
        packet = av.Packet(data)
        packet.stream, packet.time_base = self._stream, TIME_BASE
        packet.pts = packet.dts = pts
        packet.duration, packet.is_keyframe = duration, cut
        self._out.mux(packet)
        return self._collect()

    def close(self) -> bytes | None:
        """The last fragment; the Fragmenter is done."""
        try:
            self._out.close()
        except av.FFmpegError:
            return None
        return self._collect()

    def _collect(self) -> bytes | None:
        done = None
        for kind, box in self._sink.take():
            if kind in (b"ftyp", b"moov"):
                self.init += box
            elif kind == b"moof":
                self._fragment = bytearray(box)
            elif kind == b"mdat" and self._fragment:
                done, self._fragment = bytes(self._fragment + box), bytearray()
        return done  # other boxes (mfra at the end) are of no use to a player


class VP8ToH264:
    """VP8 in, H.264 out, a keyframe at least every `gop` ticks (90 kHz). The output keeps
    the first picture's size; later pictures of another size are scaled to it."""

    def __init__(self, gop: int) -> None:
        self.gop = gop
        self._decoder: Any = av.CodecContext.create("vp8", "r")
        self._encoder: Any = None
        self._next_key = 0

    def feed(self, data: bytes, pts: int) -> list[Unit]:
        """One VP8 frame; the H.264 units it makes (none while the decoder waits)."""
        packet = av.Packet(data)
        packet.pts, packet.time_base = pts, TIME_BASE
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError:
            return []  # a frame that lost a reference: the next keyframe mends it
        return [unit for frame in frames for unit in self._encode(frame, pts)]

    def close(self) -> list[Unit]:
        if self._encoder is None:
            return []
        return [(bytes(p), p.pts, p.is_keyframe) for p in self._encoder.encode(None)]

    def _encode(self, frame: Any, pts: int) -> list[Unit]:
        if self._encoder is None:
            self._encoder = _h264_encoder(frame.width, frame.height)
        if (frame.width, frame.height) != (self._encoder.width, self._encoder.height):
            frame = frame.reformat(self._encoder.width, self._encoder.height)
        frame.pts, frame.time_base = pts, TIME_BASE
        if pts >= self._next_key:
            frame.pict_type = av.video.frame.PictureType.I
            self._next_key = pts + self.gop
        else:
            frame.pict_type = av.video.frame.PictureType.NONE
        return [(bytes(p), p.pts, p.is_keyframe) for p in self._encoder.encode(frame)]


def _h264_encoder(width: int, height: int) -> Any:
    """libx264 for live: no lookahead, no B-frames, SPS/PPS in band with each keyframe (no
    global header), so every keyframe can open a Fragmenter; constant quality, but never
    more than BITS_PER_PIXEL a frame over a second (what every player downloads)."""
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height = width - width % 2, height - height % 2
    encoder.pix_fmt, encoder.time_base = "yuv420p", TIME_BASE
    encoder.framerate = fractions.Fraction(30, 1)
    encoder.gop_size = 3000  # the forced keyframes above set the pace
    cap = str(int(BITS_PER_PIXEL * width * height * 30))  # 360p: 0.7 Mbit/s; 720p: 2.8
    encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "23",
                       "maxrate": cap, "bufsize": cap}  # fmt: skip
    return encoder
