"""The live playlist (RFC 8216bis, with Apple's low-latency parts): written by the HLS
packager (streaming/video/hls.py) as segments and parts come out, read by every server
process that answers a blocking reload (server/web/hls.py).

One playlist serves both kinds of player. A regular one reads the last WINDOW segments
(`EXTINF`) and ignores the rest. A low-latency one also reads the parts (`EXT-X-PART`,
about a third of a second each, listed for the segment being made and the PART_WINDOW
segments before it), the hint of the next part (`EXT-X-PRELOAD-HINT`), and asks for the
next playlist with `_HLS_msn`/`_HLS_part`, which the server holds until it is written
(`CAN-BLOCK-RELOAD`). Every file is written aside, then renamed, the playlist last: a
process that sees a part listed finds it whole on disk.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PART_S", "PLAYLIST", "Part", "Playlist", "Progress", "Segment", "is_live",
           "write_whole"]  # fmt: skip

PLAYLIST = "index.m3u8"
PART_S = 1 / 3  # a part: ten frames at 30 fps
PART_TARGET = math.ceil(PART_S * 1000) / 1000  # 0.334, what the playlist promises
WINDOW = 6  # segments in the live playlist
PART_WINDOW = 2  # complete segments that still list their parts (with TARGETDURATION 1: 3 s)
KEEP = 30  # segments kept on disk: a cache or a slow player may still ask for older ones
KEEP_PARTS = 6  # segments whose parts are kept on disk
STALE_S = 10.0  # a playlist not rewritten for this long is of a stream that died


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
class Part:
    name: str
    seconds: float
    independent: bool  # starts with a keyframe


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    seconds: float  # so far, while it is being made
    init: str  # its init segment's name
    started: float  # wall clock at its first frame (EXT-X-PROGRAM-DATE-TIME)
    discontinuous: bool  # the first of a new publisher's run
    parts: tuple[Part, ...]


class Playlist:
    """The segments on disk, the one being made, and the live playlist over them."""

    def __init__(self, folder: Path, target_s: float) -> None:
        self.folder, self.target = folder, max(1, math.ceil(target_s))
        self.segments: deque[Segment] = deque()
        self.sequence = 0  # the media sequence number of segments[0]
        self.discontinuities = 0  # EXT-X-DISCONTINUITY tags that left the window
        self.current: Segment | None = None  # being made: its parts so far
        self.hint: str | None = None  # the next part's name

    def add(self, segment: Segment, data: bytes) -> None:
        """A complete segment (`data`: its parts one after the other)."""
        write_whole(self.folder / segment.name, data)
        self.segments.append(segment)
        self.current = None
        self.target = max(self.target, round(segment.seconds))
        if len(self.segments) > KEEP_PARTS:
            for part in self.segments[-KEEP_PARTS - 1].parts:
                with contextlib.suppress(OSError):
                    (self.folder / part.name).unlink()
        while len(self.segments) > KEEP:
            gone = self.segments.popleft()
            self.sequence += 1
            self.discontinuities += gone.discontinuous
            with contextlib.suppress(OSError):
                (self.folder / gone.name).unlink()

    def write(self, ended: bool) -> None:
        shown = list(self.segments)[-WINDOW:]
        skipped = list(self.segments)[: len(self.segments) - len(shown)]
        lines = [
            "#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{self.target}",
            f"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={3 * PART_TARGET:.3f}",
            f"#EXT-X-PART-INF:PART-TARGET={PART_TARGET:.3f}",
            f"#EXT-X-MEDIA-SEQUENCE:{self.sequence + len(skipped)}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:"
            f"{self.discontinuities + sum(s.discontinuous for s in skipped)}",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]  # fmt: skip
        init = None
        current = [self.current] if self.current is not None and not ended else []
        for at, segment in enumerate(shown + current):
            if segment.discontinuous and init is not None:
                lines.append("#EXT-X-DISCONTINUITY")
            if segment.init != init:
                lines.append(f'#EXT-X-MAP:URI="{segment.init}"')
                init = segment.init
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_iso(segment.started)}")
            if at >= len(shown) - PART_WINDOW:
                lines += [f"#EXT-X-PART:DURATION={part.seconds:.3f},URI=\"{part.name}\""
                          + (",INDEPENDENT=YES" if part.independent else "")
                          for part in segment.parts]  # fmt: skip
            if at < len(shown):
                lines += [f"#EXTINF:{segment.seconds:.3f},", segment.name]
        if ended:
            lines.append("#EXT-X-ENDLIST")
        elif self.hint is not None:
            lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{self.hint}"')
        write_whole(self.folder / PLAYLIST, ("\n".join(lines) + "\n").encode())


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a playlist's text goes: the media sequence number of the segment being
    made (the last complete one's plus one), how many of its parts it lists, whether it
    has ended."""

    next_msn: int
    parts: int
    ended: bool
    target: int  # EXT-X-TARGETDURATION

    @classmethod
    def of(cls, text: bytes) -> Progress:
        sequence = complete = parts = 0
        target = 1
        for line in text.split(b"\n"):
            if line.startswith(b"#EXT-X-PART:"):
                parts += 1
            elif line.startswith(b"#EXTINF:"):
                complete, parts = complete + 1, 0
            elif line.startswith(b"#EXT-X-MEDIA-SEQUENCE:"):
                sequence = int(line.partition(b":")[2])
            elif line.startswith(b"#EXT-X-TARGETDURATION:"):
                target = int(line.partition(b":")[2])
        return cls(sequence + complete, parts, b"#EXT-X-ENDLIST" in text, target)

    def has(self, msn: int, part: int | None) -> bool:
        """Whether segment `msn` (or its part `part`) or a later one is listed."""
        if self.ended or msn < self.next_msn:
            return True
        return msn == self.next_msn and part is not None and part < self.parts


def write_whole(path: Path, data: bytes) -> None:
    """Write aside and rename: a reader sees the old file or the new, never half of one."""
    aside = path.with_name(f".{path.name}.{threading.get_ident()}")
    aside.write_bytes(data)
    os.replace(aside, path)


def _iso(at: float) -> str:
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
    return f"{whole}.{int(at * 1000) % 1000:03d}Z"
