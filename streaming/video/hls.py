"""The host's stream packaged once for HLS: fMP4 (CMAF) segments and a live playlist in a
folder of the data dir, which every server process on the machine (and any HTTP cache or
CDN in front of them) serves as plain files.

The broadcast hands `Packager.write` each encoded frame of the host's video on the event
loop, as it hands them to WebRTC viewers (streaming/video/tap.py); a bounded queue takes
them to one thread per broadcast that muxes H.264 as it came, or encodes the host's VP8
as H.264 once (streaming/video/fmp4.py), cuts a segment at the first keyframe past
`segment_s`, and writes each file whole (written aside, then renamed), the playlist last.
A full queue drops frames up to the next keyframe and asks the host for one, so a slow
disk or encoder never holds up the viewers.

Names: `{run}-init.mp4`, `{run}-{n}.m4s` and `index.m3u8`, where `run` is new for every
publisher: a segment's name is never used for other bytes, so segments are immutable and
may be cached for a year. A publisher that replaces another continues the playlist after
an `EXT-X-DISCONTINUITY`; `close` ends it with `EXT-X-ENDLIST`. `is_live` tells, from the
folder alone, whether a stream is on (for processes that do not hold the publisher).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streaming.video.fmp4 import Fragmenter, VP8ToH264
from streaming.video.tap import EncodedFrame

__all__ = ["PLAYLIST", "SEGMENT_S", "Packager", "is_live"]

log = logging.getLogger("openbid.hls")
PLAYLIST = "index.m3u8"
SEGMENT_S = 1.0  # a keyframe, and a segment, every second: players start and follow fast
WINDOW = 6  # segments in the live playlist
KEEP = 30  # segments kept on disk: a cache or a slow player may still ask for older ones
QUEUE = 120  # frames waiting for the thread, about four seconds
STALE_S = 10.0  # a playlist not rewritten for this long is of a stream that died
CLOCK = 90_000  # the video RTP clock
_END, _RESTART = "end", "restart"


def is_live(folder: Path, now: float | None = None) -> bool:
    """Whether `folder` holds a playlist being written: rewritten within STALE_S and not
    ended. Any process can ask, the one with the publisher or another."""
    path = folder / PLAYLIST
    try:
        if path.stat().st_mtime < (now or time.time()) - STALE_S:
            return False
        return b"#EXT-X-ENDLIST" not in path.read_bytes()
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class _Segment:
    name: str
    seconds: float
    init: str  # its init segment's name
    started: float  # wall clock at its first frame (EXT-X-PROGRAM-DATE-TIME)
    discontinuous: bool  # the first of a new publisher's run


class _Playlist:
    """The segments on disk and the live playlist over the last WINDOW of them."""

    def __init__(self, folder: Path, target_s: float) -> None:
        self.folder, self.target = folder, max(1, math.ceil(target_s))
        self.segments: deque[_Segment] = deque()
        self.sequence = 0  # the media sequence number of segments[0]
        self.discontinuities = 0  # EXT-X-DISCONTINUITY tags that left the window

    def add(self, segment: _Segment, data: bytes) -> None:
        _write(self.folder / segment.name, data)
        self.segments.append(segment)
        self.target = max(self.target, round(segment.seconds))
        while len(self.segments) > KEEP:
            gone = self.segments.popleft()
            self.sequence += 1
            self.discontinuities += gone.discontinuous
            with contextlib.suppress(OSError):
                (self.folder / gone.name).unlink()
        self.write(ended=False)

    def write(self, ended: bool) -> None:
        shown = list(self.segments)[-WINDOW:]
        skipped = list(self.segments)[: len(self.segments) - len(shown)]
        lines = [
            "#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{self.target}",
            f"#EXT-X-MEDIA-SEQUENCE:{self.sequence + len(skipped)}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:"
            f"{self.discontinuities + sum(s.discontinuous for s in skipped)}",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]  # fmt: skip
        init = None
        for segment in shown:
            if segment.discontinuous and init is not None:
                lines.append("#EXT-X-DISCONTINUITY")
            if segment.init != init:
                lines.append(f'#EXT-X-MAP:URI="{segment.init}"')
                init = segment.init
            lines += [f"#EXT-X-PROGRAM-DATE-TIME:{_iso(segment.started)}",
                      f"#EXTINF:{segment.seconds:.3f},", segment.name]  # fmt: skip
        if ended:
            lines.append("#EXT-X-ENDLIST")
        _write(self.folder / PLAYLIST, ("\n".join(lines) + "\n").encode())


class _Run:
    """One publisher's frames, as one run of segments: its own clock from 0 and its own
    init segment. Runs in the packager's thread."""

    def __init__(self, name: str, playlist: _Playlist, gop: int, first: bool) -> None:
        self.name, self.playlist, self.gop = name, playlist, gop
        self.discontinuous = not first
        self.fragmenter: Fragmenter | None = None
        self.transcoder: VP8ToH264 | None = None
        self.count, self.origin, self.last_raw, self.wraps = 0, -1, 0, 0
        self.start_pts, self.last_pts, self.step, self.started = 0, 0, 3000, 0.0

    def frame(self, frame: EncodedFrame, arrived: float) -> bool:
        """Package one frame; True when the segment runs long and the host should send a
        keyframe (H.264 as it came: the host's encoder sets the pace)."""
        pts = self._unwrap(frame.timestamp)
        if frame.codec == "VP8":
            self.transcoder = self.transcoder or VP8ToH264(self.gop)
            units = self.transcoder.feed(frame.data, pts)
        else:
            units = [(frame.data, pts, frame.keyframe)]
        for data, at, key in units:
            self._unit(data, at, key, arrived)
        return frame.codec == "H264" and self.last_pts - self.start_pts > self.gop

    def _unit(self, data: bytes, pts: int, key: bool, arrived: float) -> None:
        first = self.fragmenter is None
        if self.fragmenter is None:
            if not key:
                return
            try:
                self.fragmenter = Fragmenter(data)
            except ValueError:
                return
            self.start_pts, self.started = pts, arrived
        cut = key and (first or pts - self.start_pts >= self.gop)
        if pts > self.last_pts > 0:
            self.step = min(pts - self.last_pts, CLOCK)  # the last frame's duration, guessed
        done = self.fragmenter.add(data, pts, cut, self.step)
        self.last_pts = max(self.last_pts, pts)
        if done is not None:
            self._segment(done, pts)
            self.start_pts, self.started = pts, arrived

    def _segment(self, data: bytes, end_pts: int) -> None:
        assert self.fragmenter is not None
        init = f"{self.name}-init.mp4"
        if self.count == 0:
            _write(self.playlist.folder / init, self.fragmenter.init)
        seconds = (end_pts - self.start_pts) / CLOCK
        name = f"{self.name}-{self.count}.m4s"
        segment = _Segment(name, seconds, init, self.started, self.discontinuous)
        self.playlist.add(segment, data)
        self.count, self.discontinuous = self.count + 1, False

    def finish(self) -> None:
        """The last segment, up to the last frame."""
        if self.transcoder is not None:
            for data, at, key in self.transcoder.close():
                self._unit(data, at, key, time.time())
        if self.fragmenter is not None:
            done = self.fragmenter.close()
            if done is not None:
                self._segment(done, self.last_pts + self.step)
            self.fragmenter = None

    def _unwrap(self, raw: int) -> int:
        """The RTP timestamp (32 bits, from a random start) on a clock from 0."""
        if self.origin < 0:
            self.origin = self.last_raw = raw
        if raw < self.last_raw and self.last_raw - raw > 1 << 31:
            self.wraps += 1
        self.last_raw = raw
        return raw + (self.wraps << 32) - self.origin


class Packager:
    """One broadcast's HLS output. Call `write` with each of the host's video frames,
    `restart` when another publisher takes over, and await `close` when the stream ends:
    the playlist then ends with EXT-X-ENDLIST."""

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
        """On the event loop: hand one frame over (video only), never waiting."""
        if frame.kind != "video":
            return
        if self._resync and not frame.keyframe:
            return
        if self._queue.qsize() >= QUEUE:
            self._resync = True
            self.ask_keyframe()
            return
        self._queue.put_nowait((frame, time.time()))
        self._resync = False

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
        playlist = _Playlist(self.folder, self.gop / CLOCK)
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
            elif run.frame(item, arrived):
                self._loop.call_soon_threadsafe(self.ask_keyframe)


def _write(path: Path, data: bytes) -> None:
    """Write aside and rename: a reader sees the old file or the new, never half of one."""
    aside = path.with_name(f".{path.name}.{threading.get_ident()}")
    aside.write_bytes(data)
    os.replace(aside, path)


def _clear(folder: Path) -> None:
    """An earlier broadcast's files: its playlist ended long ago."""
    for old in folder.iterdir():
        with contextlib.suppress(OSError):
            old.unlink()


def _iso(at: float) -> str:
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
    return f"{whole}.{int(at * 1000) % 1000:03d}Z"
