"""The opening's livestream: the host publishes camera and microphone over WebRTC, bidders
and the public watch, and the server forwards the host's encoding to every viewer (see
streaming/video/tap.py) while recording it (streaming/video/recorder.py).

Signalling is one HTTP exchange each way (`server/web/livestream.py`): the browser's offer in,
the server's answer out, with every ICE candidate gathered first. Every peer connection is
tracked, closed when it fails and at shutdown. A viewer joining, or a viewer's decoder
asking (RTCP PLI), makes the server ask the host's browser for a keyframe, at most once
per `KEYFRAME_GAP_S`. The host's browser sends VP8; a WHIP encoder (OBS, GStreamer) may
send H.264 instead, and viewers then get H.264 as it came. Beyond one process's viewers,
the same frames go once to the HLS packager (streaming/video/hls.py), whose files every
process and any CDN serve; see docs/openings.md. Under `openbid serve --workers N` the
stream lives in the worker its host published to; `on_held` lets the server record that, so
the other workers pass their viewers' offers on (server/web/videoroute.py).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCSessionDescription
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket

from auction.errors import BadRequest, Conflict
from streaming.video.hls import Packager, is_live
from streaming.video.recorder import Recorder
from streaming.video.tap import EncodedFrame, ForwardedTrack, tap

__all__ = ["Broadcast", "Studio"]

log = logging.getLogger("openbid.webrtc")
KEYFRAME_GAP_S = 0.5
# what a publisher may send, first choice first: every browser sends and plays VP8 and Opus;
# WHIP encoders (OBS) send H.264, which viewers then get as it came
CODECS = {"video": ("video/VP8", "video/H264"), "audio": ("audio/opus",)}
CLOSE_S = 5.0  # aiortc's pc.close() has been seen never to return (aiortc#283): not at shutdown


@dataclass(eq=False)
class Broadcast:
    """One opening's stream: its publisher, its viewers' tracks, its recording."""

    opening_id: str
    recordings: Path
    publisher: RTCPeerConnection | None = None
    receivers: dict[str, RTCRtpReceiver] = field(default_factory=dict)
    viewers: dict[RTCPeerConnection, list[ForwardedTrack]] = field(default_factory=dict)
    recorder: Recorder | None = None
    hls: Packager | None = None
    session: str | None = None  # the publisher's (WHIP's resource)
    video: str = "video/VP8"  # the codec the publisher negotiated, which viewers get
    _last_keyframe_ask: float = 0.0
    _asking: set[asyncio.Task[None]] = field(default_factory=set)

    def deliver(self, frame: EncodedFrame) -> None:
        """A frame from the host: to every viewer's track of its kind, and to the file."""
        for tracks in self.viewers.values():
            for track in tracks:
                if track.kind == frame.kind:
                    track.push(frame)
        if self.recorder is not None:
            self.recorder.write(frame)
        if self.hls is not None:
            self.hls.write(frame)

    def ask_keyframe(self) -> None:
        now = time.monotonic()
        receiver = self.receivers.get("video")
        if receiver is None or now - self._last_keyframe_ask < KEYFRAME_GAP_S:
            return
        self._last_keyframe_ask = now
        for source in receiver.getSynchronizationSources():
            task = asyncio.ensure_future(receiver._send_rtcp_pli(source.source))
            self._asking.add(task)
            task.add_done_callback(self._asking.discard)

    @property
    def live(self) -> bool:
        return self.publisher is not None and self.publisher.connectionState != "closed"


class Studio:
    """Every broadcast of this process and every peer connection it holds."""

    def __init__(self, data_dir: Path, max_viewers: int = 500) -> None:
        self.data_dir, self.max_viewers = data_dir, max_viewers
        self.broadcasts: dict[str, Broadcast] = {}
        self.peers: set[RTCPeerConnection] = set()
        self.sessions: dict[str, tuple[Broadcast, RTCPeerConnection]] = {}  # WHEP viewers
        # told when a host goes live or off (the app announces it in the opening's room)
        self.on_live: Callable[[str, bool], Awaitable[None]] | None = None
        # awaited when this process takes or gives up an opening's publisher, before the
        # host's answer leaves (the server records where the stream is for its other workers)
        self.on_held: Callable[[str, bool], Awaitable[None]] | None = None
        self._telling: set[asyncio.Task[None]] = set()

    def _broadcast(self, opening_id: str) -> Broadcast:
        found = self.broadcasts.get(opening_id)
        if found is None:
            found = Broadcast(opening_id, self.data_dir / "recordings" / opening_id)
            self.broadcasts[opening_id] = found
        return found

    def holds(self, opening_id: str) -> bool:
        """Whether this process holds the opening's live publisher (a viewer can join here)."""
        found = self.broadcasts.get(opening_id)
        return found is not None and found.live and bool(found.receivers)

    def held(self) -> list[str]:
        return [opening_id for opening_id in self.broadcasts if self.holds(opening_id)]

    def live(self, opening_id: str) -> bool:
        """Whether the opening's host is publishing, here or (by the HLS files in the data
        dir) in another process on this machine."""
        found = self.broadcasts.get(opening_id)
        if found is not None and found.live and found.receivers:
            return True
        return is_live(self.data_dir / "live" / opening_id)

    async def publish(
        self, opening_id: str, offer: RTCSessionDescription, session: str | None = None
    ) -> RTCSessionDescription:
        """The host's offer (camera, microphone): answer it, replacing an earlier publisher;
        `session` names it (a WHIP resource; `is_publisher` checks it). BadRequest, and no
        peer left behind, when the offer cannot be answered."""
        broadcast = self._broadcast(opening_id)
        pc = RTCPeerConnection()
        receivers: dict[str, RTCRtpReceiver] = {}

        @pc.on("track")
        def on_track(track: Any) -> None:
            receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
            receivers[track.kind] = receiver
            tap(receiver, broadcast.deliver)

        await self._accept(pc, offer)
        for transceiver in pc.getTransceivers():
            if not _prefer(transceiver, CODECS[transceiver.kind]):
                await self._close(pc)
                raise BadRequest("sdp", "须发送 VP8 或 H.264 视频、Opus 音频",
                                 "must send VP8 or H.264 video and Opus audio")  # fmt: skip
        earlier = broadcast.publisher
        self._track(pc, lambda: self._publisher_gone(broadcast, pc))
        broadcast.publisher, broadcast.receivers = pc, receivers
        broadcast.session = session or secrets.token_hex(16)
        video, broadcast.video = broadcast.video, _negotiated(pc, "video") or broadcast.video
        if earlier is not None:  # the host reconnected: a new stream from a new keyframe
            self._end_recording(broadcast)
            await self._close(earlier)
            if video != broadcast.video:  # viewers negotiated the old codec: let them come back
                await self._drop_viewers(broadcast)
            for tracks in broadcast.viewers.values():
                for track in tracks:
                    track.restart()
        answer = await _answer(pc)
        self._package(broadcast, restart=earlier is not None)
        now = time.time()  # one file per publisher, named by when it started (UTC)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
        audio = any(t.kind == "audio" for t in pc.getTransceivers())
        broadcast.recorder = Recorder(broadcast.recordings / f"{stamp}.mkv", audio)
        self._tell(opening_id, True)
        if self.on_held is not None:
            await self.on_held(opening_id, True)
        return answer

    async def watch(
        self, opening_id: str, offer: RTCSessionDescription, session: str | None = None
    ) -> RTCSessionDescription:
        """A viewer's offer (receive only, streaming/video/offers.py): answer it with the host's
        tracks, in the codecs the host sends. Nothing the viewer might send is ever received.
        `session` names the viewer (a WHEP resource) for `leave`."""
        broadcast = self.broadcasts.get(opening_id)
        if broadcast is None or not broadcast.live or not broadcast.receivers:
            raise Conflict("直播尚未开始", "the livestream has not started")
        if sum(len(b.viewers) for b in self.broadcasts.values()) >= self.max_viewers:
            raise Conflict("观看人数已满，请稍后再试", "too many viewers on this server")
        pc = RTCPeerConnection()
        await self._accept(pc, offer)
        self._track(pc, lambda: self._viewer_gone(broadcast, pc))
        tracks = []
        for transceiver in pc.getTransceivers():
            transceiver.direction = "sendonly"  # never a receiver on a viewer's connection
            if transceiver.kind not in broadcast.receivers:
                continue
            wanted = broadcast.video if transceiver.kind == "video" else "audio/opus"
            if not _prefer(transceiver, (wanted,)):
                await self._close(pc)
                raise BadRequest("sdp", f"此播放器不支持 {wanted}", f"this player lacks {wanted}")
            track = ForwardedTrack(transceiver.kind, broadcast.ask_keyframe)
            _forward_keyframe_requests(pc.addTrack(track), broadcast.ask_keyframe)
            tracks.append(track)
        broadcast.viewers[pc] = tracks
        if session is not None:
            self.sessions[session] = (broadcast, pc)
        answer = await _answer(pc)
        broadcast.ask_keyframe()
        return answer

    def is_publisher(self, opening_id: str, session: str) -> bool:
        found = self.broadcasts.get(opening_id)
        return found is not None and found.publisher is not None and found.session == session

    async def leave(self, opening_id: str, session: str) -> bool:
        """End a named viewer's connection; False when there is no such viewer."""
        found = self.sessions.get(session)
        if found is None or found[0].opening_id != opening_id:
            return False
        broadcast, pc = found
        self._viewer_gone(broadcast, pc)
        await self._close(pc)
        return True

    async def _drop_viewers(self, broadcast: Broadcast) -> None:
        peers = list(broadcast.viewers)
        for pc in peers:
            self._viewer_gone(broadcast, pc)
        await asyncio.gather(*(self._close(pc) for pc in peers))

    def _package(self, broadcast: Broadcast, restart: bool) -> None:
        """HLS for the broadcast: one packager, told when the publisher changes."""
        if broadcast.hls is None:
            folder = self.data_dir / "live" / broadcast.opening_id
            broadcast.hls = Packager(folder, broadcast.ask_keyframe)
        elif restart:
            broadcast.hls.restart()

    async def _accept(self, pc: RTCPeerConnection, offer: RTCSessionDescription) -> None:
        """Take the remote offer; one aiortc cannot use is a BadRequest, `pc` closed."""
        try:
            await pc.setRemoteDescription(offer)
        except Exception:  # aiortc raises ValueError, OperationError, KeyError ... on bad SDP
            await self._close(pc)
            raise BadRequest("sdp", "无法应答此 SDP", "this SDP offer cannot be answered") from None

    def _track(self, pc: RTCPeerConnection, gone: Callable[[], None]) -> RTCPeerConnection:
        """Hold `pc` until it fails or closes; then `gone` cleans up after it."""
        self.peers.add(pc)

        @pc.on("connectionstatechange")
        async def changed() -> None:
            if pc.connectionState in ("failed", "closed"):
                gone()
                await self._close(pc)

        return pc

    async def stop(self, opening_id: str) -> None:
        """The host ends the livestream: the publisher, every viewer, the recording."""
        broadcast = self.broadcasts.pop(opening_id, None)
        if broadcast is None:
            return
        self._tell(opening_id, False)
        if self.on_held is not None:
            await self.on_held(opening_id, False)
        self._end_recording(broadcast)
        publisher = [broadcast.publisher] if broadcast.publisher is not None else []
        await asyncio.gather(self._drop_viewers(broadcast), self._end_hls(broadcast),
                             *(self._close(pc) for pc in publisher))  # fmt: skip

    def _publisher_gone(self, broadcast: Broadcast, pc: RTCPeerConnection) -> None:
        if broadcast.publisher is pc:  # not a publisher the host has since replaced
            self._tell(broadcast.opening_id, False)
            if self.on_held is not None:
                self._background(self.on_held(broadcast.opening_id, False))
            self._end_recording(broadcast)
            if broadcast.hls is not None:  # its last segment now; a new publisher goes on
                broadcast.hls.restart()

    def _tell(self, opening_id: str, live: bool) -> None:
        """Let `on_live` know, without holding up the host's exchange."""
        if self.on_live is not None:
            self._background(self.on_live(opening_id, live))

    def _background(self, telling: Awaitable[None]) -> None:
        task = asyncio.ensure_future(telling)
        self._telling.add(task)
        task.add_done_callback(self._told)

    def _told(self, task: asyncio.Task[None]) -> None:
        self._telling.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("telling that the stream changed failed: %r", task.exception())

    async def _end_hls(self, broadcast: Broadcast) -> None:
        if broadcast.hls is not None:
            await broadcast.hls.close()
            broadcast.hls = None

    def _end_recording(self, broadcast: Broadcast) -> None:
        if broadcast.recorder is not None:
            broadcast.recorder.close()
            broadcast.recorder = None

    def _viewer_gone(self, broadcast: Broadcast, pc: RTCPeerConnection) -> None:
        for track in broadcast.viewers.pop(pc, []):
            track.stop()
        for session, (_, held) in list(self.sessions.items()):
            if held is pc:
                del self.sessions[session]

    async def _close(self, pc: RTCPeerConnection) -> None:
        self.peers.discard(pc)
        try:
            await asyncio.wait_for(pc.close(), CLOSE_S)
        except TimeoutError:
            log.warning("a peer connection did not close within %.0f s; left behind", CLOSE_S)
        except Exception:  # a connection that already failed may raise as it closes
            log.debug("closing a peer connection failed", exc_info=True)

    async def close(self) -> None:
        """At shutdown: close every peer connection and every recording."""
        for broadcast in self.broadcasts.values():
            for pc in list(broadcast.viewers):
                self._viewer_gone(broadcast, pc)
            self._end_recording(broadcast)
        await asyncio.gather(
            *(self._close(pc) for pc in list(self.peers)),
            *(self._end_hls(broadcast) for broadcast in self.broadcasts.values()),
        )

    def recording_files(self, opening_id: str) -> list[Path]:
        folder = self.data_dir / "recordings" / opening_id
        return sorted(folder.glob("*.mkv")) if folder.is_dir() else []


def _prefer(transceiver: Any, wanted: tuple[str, ...]) -> bool:
    """Answer with one codec (and its RTX): the first of `wanted` that the offer has. aiortc
    settles an answer's codecs as it takes the offer, before any preference could be set,
    so its negotiated list (private, like the receiver's queue in tap.py) is cut here.
    False when the offer has none of `wanted`."""
    offered: list[Any] = transceiver._codecs
    for mime in wanted:
        chosen = next((c for c in offered if c.mimeType.lower() == mime.lower()), None)
        if chosen is not None:
            rtx = [c for c in offered if c.parameters.get("apt") == chosen.payloadType]
            transceiver._codecs = [chosen, *rtx]
            return True
    return False


def _negotiated(pc: RTCPeerConnection, kind: str) -> str | None:
    for transceiver in pc.getTransceivers():
        if transceiver.kind == kind and transceiver._codecs:
            mime: str = transceiver._codecs[0].mimeType
            return mime
    return None


def _forward_keyframe_requests(sender: RTCRtpSender, ask: Callable[[], None]) -> None:
    """A viewer's PLI cannot be met by the sender (it encodes nothing): pass it upstream."""
    handle: Callable[[Any], Awaitable[None]] = sender._handle_rtcp_packet

    async def handle_rtcp(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
            ask()
        await handle(packet)

    sender._handle_rtcp_packet = handle_rtcp  # type: ignore[method-assign]


async def _answer(pc: RTCPeerConnection) -> RTCSessionDescription:
    await pc.setLocalDescription(await pc.createAnswer())
    description: RTCSessionDescription = pc.localDescription
    return description
