"""Records a broadcast as it arrives, without decoding: the host's VP8 (a browser's) or
H.264 (a WHIP encoder's, OBS say) and Opus frames are muxed into a Matroska file by PyAV
(FFmpeg). The file starts at the first video keyframe; a Matroska file cut short by a crash
still plays up to its last cluster.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import av

from streaming.video.fmp4 import add_h264_stream
from streaming.video.tap import CLOCK, EncodedFrame, vp8_size

__all__ = ["Recorder"]

log = logging.getLogger("openbid.recorder")


class Recorder:
    def __init__(self, path: Path, audio: bool) -> None:
        self.path, self.audio = path, audio  # audio: the host publishes a microphone
        self._container: Any = None
        self._streams: dict[str, Any] = {}
        self._first: dict[str, int] = {}  # each kind's first timestamp: the file starts at 0

    def write(self, frame: EncodedFrame) -> None:
        """Mux one encoded frame; before the first video keyframe, nothing is written."""
        if self._container is None and not self._start(frame):
            return
        stream = self._streams.get(frame.kind)
        if stream is None:
            return
        first = self._first.setdefault(frame.kind, frame.timestamp)
        packet = av.Packet(frame.data)
        packet.stream = stream
        packet.pts = packet.dts = frame.timestamp - first
        packet.time_base = CLOCK[frame.kind]
        packet.is_keyframe = frame.keyframe
        self._container.mux(packet)

    def _start(self, frame: EncodedFrame) -> bool:
        if frame.kind != "video" or not frame.keyframe or frame.codec not in ("VP8", "H264"):
            return False
        size = vp8_size(frame.data) if frame.codec == "VP8" else None
        if frame.codec == "VP8" and size is None:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self.path), "w", format="matroska")
        if size is not None:
            stream = self._container.add_stream("vp8", rate=30)
            stream.width, stream.height = size
        else:  # its parameters (SPS, PPS) from the keyframe itself
            stream = add_h264_stream(self._container, frame.data)
            if stream is None:
                self._container.close()
                self._container = None
                return False
        stream.time_base = CLOCK["video"]
        self._streams["video"] = stream
        if self.audio:  # Matroska takes no stream once the first packet is in
            sound = self._container.add_stream("opus", rate=48_000)
            sound.time_base = CLOCK["audio"]
            self._streams["audio"] = sound
        return True

    def close(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except av.FFmpegError:
                log.exception("closing the recording %s failed", self.path)
            self._container = None
