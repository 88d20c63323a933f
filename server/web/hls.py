"""The livestream for large audiences: HLS files as the packager (streaming/video/hls.py)
writes them to `DATA_DIR/live/{opening}/`, served by any process on the machine.

`GET /live/openings/{id}/index.m3u8` is the live playlist (`max-age=1`: a cache in front
holds it for a second, so a thousand players cost the server one read a second); its init
and media segments are named once and never rewritten, so they are `immutable` for a
year. Every answer allows any origin: the stream is public, and a CDN or a player on
another site may fetch it. `GET /live/openings/{id}/status` says `live hls`, `live` (the
playlist is not written yet) or `off` (the opening page asks it while it waits for the
host, instead of a watch that would fail).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from auction.errors import NotFound
from server.web.api import Operation
from server.web.common import resources
from streaming.video.hls import PLAYLIST, is_live
from streaming.video.studio import Studio

__all__ = ["hls_operations"]

OPENING = re.compile(r"[0-9a-z]{1,64}")
SEGMENT = re.compile(r"[0-9a-z]{1,40}-(init\.mp4|[0-9]{1,9}\.m4s)")
LIVE_CACHE = "public, max-age=1"
SEGMENT_CACHE = "public, max-age=31536000, immutable"
STATUS_CACHE = "public, max-age=2"
TYPES = {"m3u8": "application/vnd.apple.mpegurl", "mp4": "video/mp4", "m4s": "video/mp4"}
CORS = {"access-control-allow-origin": "*"}
KEPT = 64  # segments this process keeps in memory: what a live audience asks for again


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


_SEGMENTS = _Segments()


def _folder(request: Request) -> Path:
    opening_id: str = request.path_params["opening"]
    if not OPENING.fullmatch(opening_id):
        raise NotFound("opening")
    studio: Studio = resources(request).studio
    return studio.data_dir / "live" / opening_id


async def playlist(request: Request) -> Response:
    """The live playlist; 404 until the host's first segment is written."""
    try:
        text = (_folder(request) / PLAYLIST).read_bytes()  # a few hundred bytes
    except OSError:
        raise NotFound("playlist") from None
    headers = {"cache-control": LIVE_CACHE, **CORS}
    return Response(text, headers=headers, media_type=TYPES["m3u8"])


async def segment(request: Request) -> Response:
    """An init or media segment, immutable once written."""
    name = request.path_params["name"]
    if not SEGMENT.fullmatch(name):
        raise NotFound("segment")
    try:
        data = _SEGMENTS.read(_folder(request) / name)
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
              summary="The livestream as HLS: the live playlist (fMP4 segments)",
              media=TYPES["m3u8"], errors=("NOT_FOUND",)),
    Operation(method="GET", path="/live/openings/{opening}/{name}", handler=segment,
              summary="An HLS init or media segment (immutable)", media="video/mp4",
              errors=("NOT_FOUND",)),
]  # fmt: skip
