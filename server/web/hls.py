"""The livestream for large audiences: HLS files as the packager (streaming/video/hls.py)
writes them to `DATA_DIR/live/{opening}/`, served by any process on the machine.

`GET /live/openings/{id}/index.m3u8` is the live playlist (`max-age=1`: a cache in front
holds it for a second, so a thousand players cost the server one read a second); its init
segments, segments and parts are named once and never rewritten, so they are `immutable`
for a year. Every answer allows any origin: the stream is public, and a CDN or a player on
another site may fetch it. `GET /live/openings/{id}/status` says `live hls`, `live` (the
playlist is not written yet) or `off` (the opening page asks it while it waits for the
host, instead of a watch that would fail).

Low-latency players ask `index.m3u8?_HLS_msn=N&_HLS_part=M` (RFC 8216bis §6.2.5.2): the
answer waits until the playlist lists that part (or segment N, or a later one), at most
three target durations, then 503; a segment more than two past the last one is refused
at once (400). Such an answer is the same for everyone who asks the same URL later, so a
cache may keep it a little (BLOCKING_CACHE), and a CDN that collapses requests sends the
origin one per part. A request for the hinted next part (`EXT-X-PRELOAD-HINT`) waits
likewise until it is written. The packager may be another process: `_Watch` learns of a
new playlist from the file itself (a stat every POLL_S of one folder, in each process,
only while someone waits; the playlist is renamed into place, so a changed inode or mtime
is a new one).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from auction.errors import BadRequest, NotFound
from server.web.api import Operation
from server.web.common import resources
from streaming.video.playlist import PLAYLIST, Progress, is_live
from streaming.video.studio import Studio

__all__ = ["hls_operations"]

OPENING = re.compile(r"[0-9a-z]{1,64}")
SEGMENT = re.compile(r"[0-9a-z]{1,40}-(init\.mp4|[0-9]{1,9}(\.[0-9]{1,3})?\.m4s)")
PART = re.compile(r"[0-9a-z]{1,40}-[0-9]{1,9}\.[0-9]{1,3}\.m4s")
LIVE_CACHE = "public, max-age=1"
BLOCKING_CACHE = "public, max-age=3"
SEGMENT_CACHE = "public, max-age=31536000, immutable"
STATUS_CACHE = "public, max-age=2"
TYPES = {"m3u8": "application/vnd.apple.mpegurl", "mp4": "video/mp4", "m4s": "video/mp4"}
CORS = {"access-control-allow-origin": "*"}
KEPT = 160  # segments and parts this process keeps in memory: what players ask for again
POLL_S = 0.01  # how often a waited-on playlist is looked at
MAX_MSN = 10**9
NUMBER = {"type": "integer", "minimum": 0, "maximum": MAX_MSN}


class _Segments:
    """The last segments read, by path: a segment never changes once it has its name, so
    a thousand players asking for it cost one read of the disk."""

    def __init__(self) -> None:
        self._kept: OrderedDict[Path, bytes] = OrderedDict()

    def read(self, path: Path) -> bytes:
        found = self._kept.get(path)
        if found is None:
            found = self._kept[path] = path.read_bytes()
            if len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(path)
        return found


class _Watch:
    """One folder's playlist as this process last read it. While requests wait on it, the
    file is looked at every POLL_S and they are woken when it has changed."""

    def __init__(self, path: Path) -> None:
        self.path, self.text = path, b""
        self._seen: tuple[int, int, int] | None = None
        self._changed = asyncio.Event()
        self._waiting = 0
        self._poller: asyncio.Task[None] | None = None

    def look(self) -> None:
        try:
            found = os.stat(self.path)
            seen = (found.st_ino, found.st_mtime_ns, found.st_size)
            if seen != self._seen:
                self.text, self._seen = self.path.read_bytes(), seen
            else:
                return
        except OSError:
            return
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def until(self, ready: Callable[[bytes], bool], seconds: float) -> bytes | None:
        """The playlist once `ready` says so of it; None after `seconds`."""
        self.look()
        self._waiting += 1
        if self._poller is None:
            self._poller = asyncio.create_task(self._poll())
        try:
            async with asyncio.timeout(seconds):
                while not ready(self.text):
                    await self._changed.wait()
        except TimeoutError:
            return None
        finally:
            self._waiting -= 1
        return self.text

    async def _poll(self) -> None:
        while self._waiting:
            await asyncio.sleep(POLL_S)
            self.look()
        self._poller = None


_SEGMENTS = _Segments()
_WATCHES: dict[Path, _Watch] = {}


def _watch(folder: Path) -> _Watch:
    found = _WATCHES.get(folder)
    if found is None:
        found = _WATCHES[folder] = _Watch(folder / PLAYLIST)
    return found


def _folder(request: Request) -> Path:
    opening_id: str = request.path_params["opening"]
    if not OPENING.fullmatch(opening_id):
        raise NotFound("opening")
    studio: Studio = resources(request).studio
    return studio.data_dir / "live" / opening_id


def _directive(request: Request, name: str) -> int | None:
    found = request.query_params.get(name)
    if found is None:
        return None
    if not (found.isascii() and found.isdigit() and int(found) <= MAX_MSN):
        raise BadRequest(name, "须为非负整数", "must be a non-negative integer")
    return int(found)


async def playlist(request: Request) -> Response:
    """The live playlist; 404 until the host's first part is written. With `_HLS_msn`
    (and `_HLS_part`), once it lists that segment (part)."""
    folder = _folder(request)
    try:
        text = (folder / PLAYLIST).read_bytes()  # a few kilobytes
    except OSError:
        raise NotFound("playlist") from None
    msn, part = _directive(request, "_HLS_msn"), _directive(request, "_HLS_part")
    cache = LIVE_CACHE
    if msn is None and part is not None:
        raise BadRequest("_HLS_part", "须与 _HLS_msn 同用", "needs _HLS_msn")
    if msn is not None:
        now, wanted = Progress.of(text), msn
        if wanted > now.next_msn + 1:  # more than two past the last complete segment
            raise BadRequest("_HLS_msn", "超前过多", "is too far ahead of the playlist")
        found = await _watch(folder).until(lambda t: Progress.of(t).has(wanted, part),
                                           3 * now.target)  # fmt: skip
        if found is None:
            headers = {"cache-control": "no-store", "retry-after": "1", **CORS}
            return PlainTextResponse("not yet", status_code=503, headers=headers)
        text, cache = found, BLOCKING_CACHE
    headers = {"cache-control": cache, **CORS}
    return Response(text, headers=headers, media_type=TYPES["m3u8"])


async def segment(request: Request) -> Response:
    """An init segment, media segment or part, immutable once written. The hinted next
    part is answered once it is written."""
    name = request.path_params["name"]
    if not SEGMENT.fullmatch(name):
        raise NotFound("segment")
    folder = _folder(request)
    path = folder / name
    if PART.fullmatch(name) and not path.exists():
        watch = _watch(folder)
        watch.look()
        hinted = f'URI="{name}"'.encode()
        if hinted in watch.text and b"#EXT-X-ENDLIST" not in watch.text:
            await watch.until(lambda t: path.exists() or b"#EXT-X-ENDLIST" in t,
                              3 * Progress.of(watch.text).target)  # fmt: skip
    try:
        data = _SEGMENTS.read(path)
    except OSError:
        raise NotFound("segment") from None
    headers = {"cache-control": SEGMENT_CACHE, **CORS}
    return Response(data, headers=headers, media_type=TYPES[name.rpartition(".")[2]])


async def status(request: Request) -> Response:
    """`live hls` while the host publishes and the playlist has its first segments, `live`
    before that, else `off`."""
    studio: Studio = resources(request).studio
    try:
        folder = _folder(request)
    except NotFound:
        folder = None
    said = "off"
    if folder is not None and is_live(folder):
        said = "live hls"
    elif folder is not None and studio.live(request.path_params["opening"]):
        said = "live"
    return PlainTextResponse(said, headers={"cache-control": STATUS_CACHE, **CORS})


hls_operations = [
    Operation(method="GET", path="/live/openings/{opening}/status", handler=status,
              summary="Whether the host is live: `live` or `off`", media="text/plain"),
    Operation(method="GET", path="/live/openings/{opening}/index.m3u8", handler=playlist,
              summary="The livestream as HLS: the live playlist (fMP4 segments, LL-HLS "
              "parts); `_HLS_msn`/`_HLS_part` wait for that segment or part (blocking "
              "reload)", media=TYPES["m3u8"], errors=("NOT_FOUND", "UNREADABLE"),
              query={"_HLS_msn": NUMBER, "_HLS_part": NUMBER}),
    Operation(method="GET", path="/live/openings/{opening}/{name}", handler=segment,
              summary="An HLS init or media segment, or part (immutable)", media="video/mp4",
              errors=("NOT_FOUND",)),
]  # fmt: skip
