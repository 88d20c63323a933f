"""The livestream's signalling, and an opening's archive as one download.

`POST /api/openings/{id}/webrtc/publish` (the host, admin token) and `.../webrtc/watch`
(anyone; its offer may only receive, see streaming/video/offers.py) take `{"sdp", "type":
"offer"}` and answer the same way; `.../webrtc/stop` (the host) ends the stream and closes
its recording. The same in the standard form that encoders and players speak: WHIP (RFC
9725) `POST .../whip` (the host's Bearer token, `application/sdp`) answers `201` with the
SDP and a `Location`, whose `DELETE` stops the stream as `.../webrtc/stop` does; WHEP
`POST .../whep` (anyone) the same for a player, whose `DELETE` ends that player's session.
ICE is gathered before the answer, so there is no trickle: `PATCH` is 405 (RFC 9725 §4.3.1).
`GET .../archive` (admin) is a zip of the audit export (with the envelopes), the record
(JSON and printable page) and every recording of the stream. The HLS files are
server/web/hls.py's. Under `openbid serve --workers N` a worker without the opening's stream
passes these requests to the worker holding it (server/web/videoroute.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import zipfile
from pathlib import Path
from typing import Any

from aiortc import RTCSessionDescription
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from auction.errors import BadMessage, Conflict, NotFound
from server.services.openings import OpeningService
from server.web import bodies
from server.web.api import Operation
from server.web.common import body_of, json_response, read_raw, resources, token_of
from server.web.hls import hls_operations
from server.web.openings import export
from server.web.record_page import render_record
from server.web.videoroute import VideoRoute
from streaming.video.offers import MAX_SDP, check_offer
from streaming.video.studio import Studio

__all__ = ["webrtc_operations"]


def _studio(request: Request) -> Studio:
    studio: Studio = resources(request).studio
    return studio


async def _offer(request: Request, *, viewer: bool) -> RTCSessionDescription:
    body: Any = await body_of(request, bodies.Description)
    if body["type"] != "offer":
        raise BadMessage("type", "须为 offer", "must be an offer")
    return await _checked(request, body.get("sdp"), viewer=viewer)


async def _checked(request: Request, sdp: object, *, viewer: bool) -> RTCSessionDescription:
    if not isinstance(sdp, str) or not 0 < len(sdp) <= MAX_SDP or "m=" not in sdp:
        raise BadMessage("sdp", "不是合法的 SDP", "is not an SDP offer")
    check_offer(sdp, viewer=viewer)
    opening_id = request.path_params["opening"]
    openings: OpeningService = resources(request).openings
    if not await openings.book.exists(opening_id):
        raise NotFound("opening")
    return RTCSessionDescription(sdp=sdp, type="offer")


def _description(answer: RTCSessionDescription) -> dict[str, str]:
    return {"sdp": answer.sdp, "type": answer.type}


async def _at_holder(request: Request, content: bytes = b"") -> Response | None:
    """The answer of the worker holding the opening's stream, when this one is a worker
    (`--workers`) that does not hold it; None: answer here."""
    route: VideoRoute | None = getattr(request.app.state, "video_route", None)
    if route is None or _studio(request).holds(request.path_params["opening"]):
        return None
    return await route.forward(request, content)


def _json(offer: RTCSessionDescription) -> bytes:
    return json.dumps(_description(offer)).encode()


async def publish(request: Request) -> Response:
    await resources(request).service.desk.require_admin(token_of(request))
    offer = await _offer(request, viewer=False)
    if (forwarded := await _at_holder(request, _json(offer))) is not None:
        return forwarded
    answer = await _studio(request).publish(request.path_params["opening"], offer)
    return json_response(request, _description(answer))


async def stop(request: Request) -> Response:
    """End the stream; every recording of the opening, closed now, goes in the transparency
    log by its SHA-256 (as an entry of `{opening}-documents`)."""
    await resources(request).service.desk.require_admin(token_of(request))
    if (forwarded := await _at_holder(request)) is not None:
        await _studio(request).stop(request.path_params["opening"])  # whatever is left here
        return forwarded
    return await _stopped(request, request.path_params["opening"])


async def _stopped(request: Request, opening_id: str) -> Response:
    await _studio(request).stop(opening_id)
    log = resources(request).service.transparency
    for path in _studio(request).recording_files(opening_id):
        await log.add_digest(opening_id, await asyncio.to_thread(_sha256, path))
    return json_response(request, {"stopped": True})


def _sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as recording:
        while chunk := recording.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


async def watch(request: Request) -> Response:
    offer = await _offer(request, viewer=True)
    if (forwarded := await _at_holder(request, _json(offer))) is not None:
        return forwarded
    answer = await _studio(request).watch(request.path_params["opening"], offer)
    return json_response(request, _description(answer))


# ---- WHIP and WHEP (RFC 9725 and its player twin) ----------------------------------------

SDP = "application/sdp"
CORS = {"access-control-allow-origin": "*", "access-control-expose-headers": "Location"}


async def _sdp_offer(request: Request, *, viewer: bool) -> RTCSessionDescription:
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != SDP:
        raise BadMessage("body", "须为 application/sdp", "must be application/sdp")
    try:
        sdp = (await read_raw(request, MAX_SDP)).decode()
    except UnicodeDecodeError:
        raise BadMessage("sdp", "不是合法的 SDP", "is not an SDP offer") from None
    return await _checked(request, sdp, viewer=viewer)


def _created(request: Request, answer: RTCSessionDescription, kind: str, session: str) -> Response:
    """201 with the answer; the session's resource in `Location` (DELETE it to end)."""
    where = f"/api/openings/{request.path_params['opening']}/{kind}/{session}"
    return Response(answer.sdp, 201, {"location": where, **CORS}, media_type=SDP)


async def whip(request: Request) -> Response:
    await resources(request).service.desk.require_admin(token_of(request))
    offer, session = await _sdp_offer(request, viewer=False), secrets.token_hex(16)
    if (forwarded := await _at_holder(request, offer.sdp.encode())) is not None:
        return forwarded
    answer = await _studio(request).publish(request.path_params["opening"], offer, session)
    return _created(request, answer, "whip", session)


async def whip_end(request: Request) -> Response:
    """The encoder stops: as `.../webrtc/stop`. A session the host has since replaced
    (another WHIP publish, the browser's camera) is gone already: 404."""
    await resources(request).service.desk.require_admin(token_of(request))
    opening_id = request.path_params["opening"]
    if not _studio(request).is_publisher(opening_id, request.path_params["session"]):
        if (forwarded := await _at_holder(request)) is not None:
            return forwarded
        raise NotFound("session")
    stopped = await _stopped(request, opening_id)
    stopped.headers.update(CORS)
    return stopped


async def whep(request: Request) -> Response:
    offer, session = await _sdp_offer(request, viewer=True), secrets.token_hex(16)
    if (forwarded := await _at_holder(request, offer.sdp.encode())) is not None:
        return forwarded
    answer = await _studio(request).watch(request.path_params["opening"], offer, session)
    return _created(request, answer, "whep", session)


async def whep_end(request: Request) -> Response:
    session = request.path_params["session"]
    if not await _studio(request).leave(request.path_params["opening"], session):
        if (forwarded := await _at_holder(request)) is not None:
            return forwarded
        raise NotFound("session")
    return Response(status_code=200, headers=CORS, media_type="text/plain")


async def preflight(request: Request) -> Response:
    """CORS for a player or a publishing page on another origin (RFC 9725 §4.1): tokens
    go in the Authorization header, never in cookies, so any origin may ask."""
    allowed = {"access-control-allow-methods": "POST, DELETE, OPTIONS",
               "access-control-allow-headers": "Authorization, Content-Type",
               "access-control-max-age": "86400", "accept-post": SDP}  # fmt: skip
    return Response(status_code=204, headers={**CORS, **allowed}, media_type="text/plain")


async def archive(request: Request) -> Response:
    """The opening's archive, built once per change: the zip is kept beside the recordings
    and rebuilt only when the log or a recording has grown since, one build at a time per
    opening (security review L7: each request wrote a full copy of every recording)."""
    service = resources(request).service
    await service.desk.require_staff(token_of(request))
    openings: OpeningService = resources(request).openings
    opening_id = request.path_params["opening"]
    audit = await export(service, openings, opening_id)
    videos = _studio(request).recording_files(opening_id)
    built = _studio(request).data_dir / "archives" / f"{opening_id}.zip"
    stamp = json.dumps([audit["head"], [(v.name, v.stat().st_size) for v in videos]])
    async with _building(request, opening_id):
        if not built.exists() or _stamp_of(built) != stamp:
            try:
                found: dict[str, Any] | None = await openings.record(opening_id)
            except Conflict:
                found = None  # not issued yet: the archive has the log so far
            await asyncio.to_thread(_bundle, built, audit, found, videos, stamp)
    return FileResponse(built, media_type="application/zip", filename=f"opening-{opening_id}.zip")


def _building(request: Request, opening_id: str) -> asyncio.Lock:
    locks: dict[str, asyncio.Lock] = resources(request).archive_locks
    return locks.setdefault(opening_id, asyncio.Lock())


def _stamp_of(path: Path) -> str:
    with zipfile.ZipFile(path) as bundle:
        return bundle.comment.decode()


def _bundle(
    path: Path, audit: dict[str, Any], found: dict[str, Any] | None, videos: list[Path], stamp: str
) -> None:
    """Write the zip beside `path` and move it there whole: a download in progress keeps
    reading the old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.comment = stamp.encode()
        bundle.writestr("audit.json", json.dumps(audit, ensure_ascii=False, indent=1))
        if found is not None:
            bundle.writestr("record.json", json.dumps(found, ensure_ascii=False, indent=1))
            bundle.writestr("record.html", render_record(found))
        for video in videos:
            bundle.write(video, f"video/{video.name}", zipfile.ZIP_STORED)  # already compressed
    partial.replace(path)


OFFER = ("NOT_FOUND", "BAD_MESSAGE", "UNREADABLE", "CONFLICT")
webrtc_operations = [
    Operation(method="POST", path="/api/openings/{opening}/webrtc/publish", handler=publish,
              summary="The host's camera: an SDP offer that sends, answered", auth="admin",
              body=bodies.Description, answer=bodies.Description,
              errors=("UNAUTHORIZED", "FORBIDDEN", *OFFER)),
    Operation(method="POST", path="/api/openings/{opening}/webrtc/watch", handler=watch,
              summary="Watch the livestream: a receive-only SDP offer, answered",
              body=bodies.Description, answer=bodies.Description, errors=OFFER),
    Operation(method="POST", path="/api/openings/{opening}/webrtc/stop", handler=stop,
              summary="End the livestream and its recording", auth="admin",
              answer=bodies.Stopped, errors=("UNAUTHORIZED", "FORBIDDEN")),
    Operation(method="POST", path="/api/openings/{opening}/whip", handler=whip,
              summary="WHIP (RFC 9725): the host's encoder publishes; body and answer are "
              "application/sdp, the answer's Location ends it (DELETE)", auth="admin",
              status=201, media=SDP, errors=("UNAUTHORIZED", "FORBIDDEN", *OFFER)),
    Operation(method="OPTIONS", path="/api/openings/{opening}/whip", handler=preflight,
              summary="CORS for WHIP", status=204, media="text/plain"),
    Operation(method="DELETE", path="/api/openings/{opening}/whip/{session}", handler=whip_end,
              summary="WHIP: the encoder stops; the stream ends as .../webrtc/stop ends it",
              auth="admin", answer=bodies.Stopped,
              errors=("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND")),
    Operation(method="POST", path="/api/openings/{opening}/whep", handler=whep,
              summary="WHEP: a player's receive-only offer (application/sdp), answered; "
              "the answer's Location ends it (DELETE)",
              status=201, media=SDP, errors=OFFER),
    Operation(method="OPTIONS", path="/api/openings/{opening}/whep", handler=preflight,
              summary="CORS for WHEP", status=204, media="text/plain"),
    Operation(method="DELETE", path="/api/openings/{opening}/whep/{session}", handler=whep_end,
              summary="WHEP: the player leaves", media="text/plain", errors=("NOT_FOUND",)),
    Operation(method="GET", path="/api/openings/{opening}/archive", handler=archive,
              summary="The opening's archive: log, record and recordings (zip)", auth="staff",
              media="application/zip", errors=("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND")),
    *hls_operations,
]  # fmt: skip
