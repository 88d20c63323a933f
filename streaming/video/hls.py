"""The host's stream packaged once for HLS: fMP4 (CMAF) segments, their low-latency parts,
and a live playlist in a folder of the data dir, which every server process on the machine
(and any HTTP cache or CDN in front of them) serves as plain files.

The broadcast hands `Packager.write` each encoded frame of the host's video and audio on
the event loop, as it hands them to WebRTC viewers (streaming/video/tap.py); a bounded
queue takes them to one thread per broadcast that muxes H.264 as it came, or encodes the
host's VP8 as H.264 once, and the host's Opus as AAC once (streaming/video/fmp4.py). A part
ends about every PART_S, a segment at the first keyframe past `segment_s`; each part and
each segment (its parts one after the other) is written whole, the playlist last
(streaming/video/playlist.py). A full queue drops frames up to the next keyframe and asks
the host for one, so a slow disk or encoder never holds up the viewers.

Names: `{run}-init.mp4`, `{run}-{n}.m4s`, its parts `{run}-{n}.{p}.m4s`, and `index.m3u8`,
where `run` is new for every publisher: a name is never used for other bytes, so segments
and parts are immutable and may be cached for a year. A publisher that replaces another
continues the playlist after an `EXT-X-DISCONTINUITY`; `close` ends it with
`EXT-X-ENDLIST`. The audio track is in a run when the host's audio has come by the time
its first part is cut (a third of a second after the first keyframe); it is placed
against the video by the arrival of the first frame of each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streaming.video.fmp4 import AUDIO_RATE, Muxer, OpusToAAC, Sample, VP8ToH264, avcc
from streaming.video.playlist import PART_S, PLAYLIST, Part, Playlist, Segment, is_live, write_whole
from streaming.video.tap import EncodedFrame

__all__ = ["PLAYLIST", "SEGMENT_S", "Packager", "is_live"]

log = logging.getLogger("openbid.hls")
SEGMENT_S = 1.0  # a keyframe, and a segment, every second: players start and follow fast
QUEUE = 240  # frames waiting for the thread: about three seconds of video and audio
CLOCK = 90_000  # the video RTP clock
PART_TICKS = round(PART_S * CLOCK)
OPUS_WAITING = 50  # Opus frames held until the run's init is made (one second)
_END, _RESTART = "end", "restart"


class _Clock:
    """An RTP timestamp (32 bits, from a random start) on a clock from 0."""

    def __init__(self) -> None:
        self.origin, self.last, self.wraps = -1, 0, 0

    def __call__(self, raw: int) -> int:
        if self.origin < 0:
            self.origin = self.last = raw
        if raw < self.last and self.last - raw > 1 << 31:
            self.wraps += 1
        self.last = raw
        return raw + (self.wraps << 32) - self.origin


class _Run:
    """One publisher's frames, as one run of segments: its own clock from 0 and its own
    init segment. Runs in the packager's thread."""

    def __init__(self, name: str, playlist: Playlist, gop: int, first: bool) -> None:
        self.name, self.playlist, self.gop = name, playlist, gop
        self.discontinuous = not first
        self.muxer: Muxer | None = None
        self.transcoder: VP8ToH264 | None = None
        self.aac: OpusToAAC | None = None
        self.video_clock, self.audio_clock = _Clock(), _Clock()
        self.origin = -1.0  # wall clock at the first video frame (video time 0)
        self.audio_offset: int | None = None  # audio time 0 on the video's timeline (48 kHz)
        self.heard = False  # the host's audio came before the init was made
        self.opus: list[tuple[bytes, int]] = []  # Opus frames waiting for the init
        self.keyframe: bytes | None = None  # the run's first, for the init
        self.held: tuple[bytes, int, bool] | None = None  # the last unit: its length unknown
        self.video: list[Sample] = []  # the part being made
        self.audio: list[Sample] = []  # AAC samples for the next parts
        self.parts: list[Part] = []  # the segment being made
        self.data: list[bytes] = []  # ... and its bytes
        self.count, self.step, self.started = 0, 3000, 0.0
        self.segment_start = self.part_start = 0

    def frame(self, frame: EncodedFrame, arrived: float) -> bool:
        """Package one video frame; True when the segment runs long and the host should
        send a keyframe (H.264 as it came: the host's encoder sets the pace)."""
        pts = self.video_clock(frame.timestamp)
        if self.origin < 0:
            self.origin = arrived
        if frame.codec == "VP8":
            self.transcoder = self.transcoder or VP8ToH264(self.gop)
            units = self.transcoder.feed(frame.data, pts)
        else:
            units = [(frame.data, pts, frame.keyframe)]
        for data, at, key in units:
            self._unit(data, at, key, arrived)
        late = self.held is not None and self.held[1] - self.segment_start > self.gop
        return frame.codec == "H264" and late

    def sound(self, frame: EncodedFrame, arrived: float) -> None:
        """One Opus frame of the host's audio."""
        if self.muxer is None:
            self.heard = True
        if self.origin < 0 or (self.muxer is not None and self.aac is None):
            return  # before the video starts, or a run made without audio
        if self.audio_offset is None:
            self.audio_offset = round((arrived - self.origin) * AUDIO_RATE)
        at = self.audio_clock(frame.timestamp) + self.audio_offset
        if at < 0:
            return
        if self.aac is None:
            self.opus = [*self.opus, (frame.data, at)][-OPUS_WAITING:]
        else:
            self.audio += self.aac.feed(frame.data, at)

    def _unit(self, data: bytes, pts: int, key: bool, arrived: float) -> None:
        if self.keyframe is None:
            if not key:
                return
            self.keyframe, self.started = data, arrived
            self.segment_start = self.part_start = pts
        elif self.held is not None and pts <= self.held[1]:
            return  # the muxer needs rising timestamps
        if self.held is not None:
            last, at, was_key = self.held
            self.step = min(pts - at, CLOCK)  # the last frame's duration, guessed
            self.video.append(Sample(avcc(last), at, pts - at, was_key))
            cut = key and pts - self.segment_start >= self.gop
            if cut or pts - self.part_start + self.step // 2 >= PART_TICKS:
                self._part(pts, cut, arrived)
        self.held = (data, pts, key)

    def _part(self, end: int, segment_ends: bool, arrived: float) -> None:
        """The frames so far as a part, up to `end`; and the segment they end, if so."""
        if self.muxer is None and not self._start():
            return
        assert self.muxer is not None
        cut = end * AUDIO_RATE // CLOCK
        audio = [s for s in self.audio if s.dts < cut]
        self.audio = self.audio[len(audio) :]
        data = self.muxer.fragment(self.video, audio)
        name = f"{self.name}-{self.count}.{len(self.parts)}.m4s"
        write_whole(self.playlist.folder / name, data)
        self.parts.append(Part(name, (end - self.part_start) / CLOCK, self.video[0].key))
        self.data.append(data)
        self.video, self.part_start = [], end
        segment = Segment(f"{self.name}-{self.count}.m4s", (end - self.segment_start) / CLOCK,
                          f"{self.name}-init.mp4", self.started, self.discontinuous,
                          tuple(self.parts))  # fmt: skip
        if segment_ends:
            self.playlist.add(segment, b"".join(self.data))
            self.count, self.discontinuous, self.parts, self.data = self.count + 1, False, [], []
            self.segment_start, self.started = end, arrived
        else:
            self.playlist.current = segment
        self.playlist.hint = f"{self.name}-{self.count}.{len(self.parts)}.m4s"
        self.playlist.write(ended=False)

    def _start(self) -> bool:
        """The init segment, at the first part: with an audio track if the host's audio
        has come. False (and the frames so far dropped) when the first keyframe has no
        SPS/PPS: the run starts again at the next."""
        assert self.keyframe is not None
        try:
            self.muxer = Muxer(self.keyframe, self.heard)
        except ValueError:
            self.keyframe, self.held, self.video = None, None, []
            return False
        write_whole(self.playlist.folder / f"{self.name}-init.mp4", self.muxer.init)
        if self.muxer.aac is not None:
            self.aac = OpusToAAC(self.muxer.aac)
            for data, at in self.opus:
                self.audio += self.aac.feed(data, at)
        self.opus = []
        return True

    def finish(self) -> None:
        """The last part and segment, up to the last frame."""
        if self.transcoder is not None:
            for data, at, key in self.transcoder.close():
                self._unit(data, at, key, time.time())
        if self.aac is not None:
            self.audio += self.aac.close()
        if self.held is not None:
            last, at, key = self.held
            self.video.append(Sample(avcc(last), at, self.step, key))
            self._part(at + self.step, True, time.time())
            self.held = None
        self.playlist.hint = None
        if self.muxer is not None:
            self.muxer.close()


class Packager:
    """One broadcast's HLS output. Call `write` with each of the host's frames, `restart`
    when another publisher takes over, and await `close` when the stream ends: the
    playlist then ends with EXT-X-ENDLIST."""

    def __init__(
        self, folder: Path, ask_keyframe: Callable[[], None], segment_s: float = SEGMENT_S
    ) -> None:
        self.folder, self.ask_keyframe = folder, ask_keyframe
        self.gop = int(segment_s * CLOCK)
        self._loop = asyncio.get_running_loop()
        self._queue: queue.Queue[Any] = queue.Queue()  # bounded by `write` (QUEUE)
        self._resync = True  # until the next keyframe: nothing useful can be sent
        self._done = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name=f"hls-{folder.name}", daemon=True)
        self._thread.start()

    def write(self, frame: EncodedFrame) -> None:
        """On the event loop: hand one frame over, never waiting."""
        full = self._queue.qsize() >= QUEUE
        if frame.kind == "audio":
            if not full:
                self._queue.put_nowait((frame, time.time()))
            return
        if self._resync and not frame.keyframe:
            return
        if full:
            self._resync = True
            self.ask_keyframe()
            return
        self._queue.put_nowait((frame, time.time()))
        self._resync = False

    @property
    def backlog(self) -> int:
        """Frames waiting for the thread."""
        return self._queue.qsize()

    def restart(self) -> None:
        """Another publisher: what follows is a new run (new init segment, new clock)."""
        self._resync = True
        self._queue.put_nowait((_RESTART, 0.0))

    async def close(self) -> None:
        """End the playlist (EXT-X-ENDLIST) once the queued frames are packaged."""
        self._queue.put_nowait((_END, 0.0))
        await self._done.wait()

    def _run(self) -> None:
        try:
            self._package()
        except Exception:
            log.exception("HLS packaging of %s failed", self.folder)
        finally:
            self._loop.call_soon_threadsafe(self._done.set)

    def _package(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _clear(self.folder)
        playlist = Playlist(self.folder, self.gop / CLOCK)
        stamp = time.strftime("%Y%m%dt%H%M%S", time.gmtime())
        runs = 0
        run = _Run(f"{stamp}r{runs}", playlist, self.gop, True)
        while True:
            item, arrived = self._queue.get()
            if item == _END:
                run.finish()
                playlist.write(ended=True)
                return
            if item == _RESTART:
                run.finish()
                runs += 1
                run = _Run(f"{stamp}r{runs}", playlist, self.gop, False)
            elif item.kind == "audio":
                run.sound(item, arrived)
            elif run.frame(item, arrived):
                self._loop.call_soon_threadsafe(self.ask_keyframe)


def _clear(folder: Path) -> None:
    """An earlier broadcast's files: its playlist ended long ago."""
    for old in folder.iterdir():
        with contextlib.suppress(OSError):
            old.unlink()
