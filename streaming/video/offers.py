"""What a livestream's SDP offer may ask for, checked before any peer connection exists.

A viewer only receives: every media section of its offer must be `recvonly` or `inactive`
(a section without a direction attribute is `sendrecv`, RFC 8866 §6.7). Anything that would
send media to the server is refused, because whatever a peer sends is decoded into frames
that someone must hold; an anonymous sender could fill the process's memory. A publisher
sends. Either may carry at most one audio and one video section and nothing else (no data
channel): that is all a camera and a microphone need.
"""

from __future__ import annotations

from collections import Counter

from aiortc.sdp import SessionDescription

from auction.errors import BadRequest

__all__ = ["MAX_SDP", "check_offer"]

MAX_SDP = 16 * 1024
_RECEIVING = ("recvonly", "inactive")
_SENDING = ("sendonly", "sendrecv")


def check_offer(sdp: str, *, viewer: bool) -> None:
    """Raise BadRequest unless `sdp` is an offer this side may answer: a viewer's receives
    only, a publisher's sends; at most one audio and one video section either way."""
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception:  # aiortc's parser raises whatever its splits and int()s raise
        raise _bad("不是合法的 SDP", "is not a valid SDP offer") from None
    kinds = Counter(media.kind for media in parsed.media)
    if not parsed.media or set(kinds) - {"audio", "video"} or max(kinds.values()) > 1:
        raise _bad("只能含一路音频和一路视频", "may hold one audio and one video section only")
    allowed = _RECEIVING if viewer else _SENDING
    if any((media.direction or "sendrecv") not in allowed for media in parsed.media):
        if viewer:
            raise _bad("观看方只能接收，不能发送媒体", "a viewer may only receive media")
        raise _bad("发布方须发送媒体", "a publisher must send media")


def _bad(zh: str, en: str) -> BadRequest:
    return BadRequest("sdp", zh, en)
