"""The host's stream as fragmented MP4 (CMAF) for HLS: H.264 muxed as it came, VP8 made into
H.264 first, Opus made into AAC, each once for the whole audience.

`Muxer` writes an init segment (`ftyp` + `moov`, made by FFmpeg's MP4 muxer from the first
keyframe's SPS/PPS and the AAC encoder's parameters: nothing is decoded for it) and then
fragments (`moof` + `mdat`) of whatever samples the caller hands it, video and audio in
one fragment, each track in its own `traf`. The fragments are written here, not by FFmpeg,
so that the caller decides where each one ends: an LL-HLS part ends every third of a
second, at any frame, and a segment is its parts one after the other (CMAF chunks).

`VP8ToH264` decodes the browser's VP8 and encodes it with libx264 (`ultrafast`,
`zerolatency`, no B-frames), forcing a keyframe every `gop` ticks of the 90 kHz clock, so
that segments come out at the length the packager asks. `OpusToAAC` decodes the host's
Opus and encodes AAC-LC, filling a gap in the host's audio with silence so that the
track's clock never jumps. Everything here is blocking work for the packager's thread
(streaming/video/hls.py), never for the event loop.
"""

from __future__ import annotations

import contextlib
import fractions
import io
import struct
from dataclasses import dataclass
from typing import Any

import av

__all__ = ["AUDIO_RATE", "TIME_BASE", "Muxer", "OpusToAAC", "Sample", "VP8ToH264",
           "add_h264_stream"]  # fmt: skip

TIME_BASE = fractions.Fraction(1, 90_000)
AUDIO_RATE = 48_000  # Opus's clock, and the AAC track's
AUDIO_BITS = 96_000
MOVFLAGS = "frag_custom+empty_moov+default_base_moof"
BITS_PER_PIXEL = 0.1  # a frame's bits at most, per pixel: a camera's picture stays sharp
KEY, NOT_KEY = 0x02000000, 0x01010000  # sample flags: depends on nothing / a non-sync sample
GAP = AUDIO_RATE // 50  # a 20 ms Opus frame: audio further off than this is mended
Unit = tuple[bytes, int, bool]  # an encoded frame: data, pts (90 kHz), keyframe


@dataclass(frozen=True, slots=True)
class Sample:
    data: bytes  # as it goes in `mdat` (H.264: length-prefixed NAL units)
    dts: int  # on the track's clock: 90 kHz video, 48 kHz audio
    duration: int
    key: bool


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


def avcc(annex_b: bytes) -> bytes:
    """An Annex B access unit (start codes) as MP4 wants it (each NAL unit after its
    length)."""
    out = bytearray()
    for unit in annex_b.split(b"\x00\x00\x01"):
        unit = unit.rstrip(b"\x00")  # a four-byte start code's first zero, or padding
        if unit:
            out += len(unit).to_bytes(4, "big") + unit
    return bytes(out)


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


class Muxer:
    """One run of fragmented MP4: an init segment, then fragments. A new encoder (the host
    reconnected, a new size) needs a new Muxer. With `audio`, the init has an AAC track
    too, and `aac` is the encoder whose parameters it announces."""

    def __init__(self, keyframe: bytes, audio: bool) -> None:
        """ValueError unless `keyframe` carries the codec's parameters (SPS and PPS)."""
        sink = _Boxes()
        self._out: Any = av.open(sink, "w", format="mp4", options={"movflags": MOVFLAGS})
        if add_h264_stream(self._out, keyframe) is None:
            self._out.close()
            raise ValueError("no SPS/PPS in this keyframe")
        self.aac: Any = None
        if audio:
            stream = self._out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
            stream.bit_rate, stream.time_base = AUDIO_BITS, fractions.Fraction(1, AUDIO_RATE)
            self.aac = stream.codec_context  # opened with the header: its config is the moov's
        self._out.start_encoding()
        self.init = b"".join(box for _, box in sink.take())
        self.tracks = _track_ids(self.init)  # "vide" / "soun" → the moov's track_ID
        self._sequence = 0

    def fragment(self, video: list[Sample], audio: list[Sample]) -> bytes:
        """One `moof` + `mdat` of these samples (each list in decoding order)."""
        self._sequence += 1
        runs = [(self.tracks[kind], samples) for kind, samples in
                (("vide", video), ("soun", audio)) if samples and kind in self.tracks]  # fmt: skip
        size = 8 + 16 + sum(8 + 16 + 20 + 20 + 12 * len(s) for _, s in runs)  # the moof
        trafs, offset = [], size + 8
        for track, samples in runs:
            tfhd = _full(b"tfhd", 0, 0x020000, struct.pack(">I", track))  # base: the moof
            tfdt = _full(b"tfdt", 1, 0, struct.pack(">Q", samples[0].dts))
            rows = b"".join(struct.pack(">III", s.duration, len(s.data), KEY if s.key else NOT_KEY)
                            for s in samples)  # fmt: skip
            trun = _full(b"trun", 0, 0x000701, struct.pack(">Ii", len(samples), offset) + rows)
            trafs.append(_box(b"traf", tfhd + tfdt + trun))
            offset += sum(len(s.data) for s in samples)
        mfhd = _full(b"mfhd", 0, 0, struct.pack(">I", self._sequence))
        moof = _box(b"moof", mfhd + b"".join(trafs))
        assert len(moof) == size
        return moof + _box(b"mdat", b"".join(s.data for _, samples in runs for s in samples))

    def close(self) -> None:
        with contextlib.suppress(av.FFmpegError):  # nothing it writes now is used
            self._out.close()


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, version: int, flags: int, body: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags) + body)


def _children(data: bytes) -> dict[bytes, list[bytes]]:
    found: dict[bytes, list[bytes]] = {}
    at = 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        found.setdefault(data[at + 4 : at + 8], []).append(data[at + 8 : at + size])
        at += max(size, 8)
    return found


def _track_ids(init: bytes) -> dict[str, int]:
    """Each track's handler ("vide", "soun") and track_ID, read from the init's moov."""
    ids = {}
    for trak in _children(_children(init)[b"moov"][0]).get(b"trak", []):
        boxes = _children(trak)
        tkhd = boxes[b"tkhd"][0]
        track = int.from_bytes(tkhd[20:24] if tkhd[0] == 1 else tkhd[12:16], "big")
        handler = _children(boxes[b"mdia"][0])[b"hdlr"][0][8:12]
        ids[handler.decode()] = track
    return ids


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
    global header), so every keyframe can open a Muxer; constant quality, but never more
    than BITS_PER_PIXEL a frame over a second (what every player downloads)."""
    encoder = av.CodecContext.create("libx264", "w")
    encoder.width, encoder.height = width - width % 2, height - height % 2
    encoder.pix_fmt, encoder.time_base = "yuv420p", TIME_BASE
    encoder.framerate = fractions.Fraction(30, 1)
    encoder.gop_size = 3000  # the forced keyframes above set the pace
    cap = str(int(BITS_PER_PIXEL * width * height * 30))  # 360p: 0.7 Mbit/s; 720p: 2.8
    encoder.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "23",
                       "maxrate": cap, "bufsize": cap}  # fmt: skip
    return encoder


class OpusToAAC:
    """Opus frames in (their time on the 48 kHz clock of the run), AAC samples out. `aac`
    is the encoder the Muxer's init announces. A frame later than the last one's end is
    preceded by silence; one that overlaps it is dropped."""

    def __init__(self, aac: Any) -> None:
        self._aac = aac
        self._decoder: Any = av.CodecContext.create("libopus", "r")
        self._decoder.layout, self._decoder.sample_rate = "stereo", AUDIO_RATE
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE,
                                            frame_size=aac.frame_size)  # fmt: skip
        self._next = -1  # where the next frame should start

    def feed(self, data: bytes, at: int) -> list[Sample]:
        packet = av.Packet(data)
        packet.pts, packet.time_base = at, fractions.Fraction(1, AUDIO_RATE)
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError:
            return []
        out = []
        for frame in frames:
            if self._next < 0:
                self._next = at
            if at > self._next + GAP:
                out += self._encode(_silence(self._next, at - self._next))
            if at < self._next - GAP:
                continue
            frame.pts, frame.time_base = self._next, fractions.Fraction(1, AUDIO_RATE)
            out += self._encode(frame)
            at += frame.samples
        return out

    def close(self) -> list[Sample]:
        return self._encode(None)

    def _encode(self, frame: Any) -> list[Sample]:
        if frame is not None:
            self._next = frame.pts + frame.samples
        out = []
        for chunk in self._resampler.resample(frame):
            for packet in self._aac.encode(chunk):
                if packet.pts is not None and packet.pts >= 0:  # not the encoder's priming
                    out.append(Sample(bytes(packet), packet.pts, packet.duration, True))
        if frame is None:
            for packet in self._aac.encode(None):
                if packet.pts is not None and packet.pts >= 0:
                    out.append(Sample(bytes(packet), packet.pts, packet.duration, True))
        return out


def _silence(at: int, samples: int) -> Any:
    frame = av.AudioFrame(format="fltp", layout="stereo", samples=min(samples, AUDIO_RATE * 5))
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate, frame.pts = AUDIO_RATE, at
    frame.time_base = fractions.Fraction(1, AUDIO_RATE)
    return frame
