"""Low-latency HLS over HTTP, as a player meets it: an encoder publishes over WHIP (with a
microphone: the segments carry AAC); a blocking playlist reload for the next part answers
once the playlist lists it, with a cache lifetime a CDN may use; the hinted next part is
served once it is written; a reload for a segment far ahead is refused (400), as
RFC 8216bis §6.2.5.2 says; once the stream has ended, a reload answers at once."""

from __future__ import annotations

import asyncio
import io
import re

import av
import httpx
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack

from streaming.video.playlist import Progress
from tests.conftest import TIMEOUT
from tests.server.services.test_openings import new_opening
from tests.streaming.video.test_hls import playlist
from tests.streaming.video.test_whip import count_of, offer_sdp, publisher


async def test_a_blocking_reload_answers_when_the_next_part_is_listed(
    admin: httpx.AsyncClient, public: httpx.AsyncClient, peers: list[RTCPeerConnection]
) -> None:
    opening_id = await new_opening(admin)
    encoder = publisher("VP8")
    encoder.addTransceiver(AudioStreamTrack(), direction="sendonly")  # a microphone
    peers.append(encoder)
    resource = await offer_sdp(admin, f"/api/openings/{opening_id}/whip", encoder)
    base = f"/live/openings/{opening_id}"
    async with asyncio.timeout(3 * TIMEOUT):  # a segment complete, a part of the next
        while True:
            answer = await playlist(public, opening_id)
            text = answer.content if answer.status_code == 200 else b""
            now = Progress.of(text)
            if now.next_msn >= 1 and now.parts >= 1:
                break
            await asyncio.sleep(0.1)
    asked = {"_HLS_msn": now.next_msn, "_HLS_part": now.parts}  # the next part: not yet listed
    hint = re.search(rb'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', text)
    assert hint is not None
    hinted = asyncio.create_task(public.get(f"{base}/{hint[1].decode()}"))  # not written yet
    blocked = await public.get(f"{base}/index.m3u8", params=asked)
    assert blocked.status_code == 200
    assert Progress.of(blocked.content).has(now.next_msn, now.parts)
    assert blocked.headers["cache-control"] == "public, max-age=3"
    assert blocked.headers["access-control-allow-origin"] == "*"
    part = await hinted
    assert part.status_code == 200
    assert part.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert hint[1] in blocked.content  # the hinted part is the one now listed

    (init,) = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', blocked.text)
    first = next(line for line in blocked.text.splitlines() if line.endswith(".m4s"))
    media = b"".join([(await public.get(f"{base}/{n}")).content for n in (init, first)])
    with av.open(io.BytesIO(media), "r", format="mp4") as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        counts = [count_of(f) for f in container.decode(video=0)]
    with av.open(io.BytesIO(media), "r", format="mp4") as container:
        assert sum(f.samples for f in container.decode(audio=0)) > 0
    assert counts == list(range(counts[0], counts[0] + len(counts)))

    far = {"_HLS_msn": now.next_msn + 5}
    assert (await public.get(f"{base}/index.m3u8", params=far)).status_code == 400
    assert (await public.get(f"{base}/index.m3u8", params={"_HLS_part": 0})).status_code == 400
    wrong = {"_HLS_msn": "x"}
    assert (await public.get(f"{base}/index.m3u8", params=wrong)).status_code == 400

    assert (await admin.delete(resource)).status_code == 200
    later = Progress.of((await playlist(public, opening_id)).content)
    assert later.ended
    answer = await public.get(f"{base}/index.m3u8", params={"_HLS_msn": later.next_msn + 1})
    assert answer.status_code == 200 and answer.text.rstrip().endswith("#EXT-X-ENDLIST")
