"""Low-latency HLS and the host's audio, from the packager alone: each segment is its
parts one after the other, and the init and a segment's parts decode into the very frames
of the segment, numbered, in order; the playlist lists them with what LL-HLS needs. Opus
from the host comes out as an AAC track in the same fMP4; without it, there is none. A
process that waits on a playlist learns of a new one written by another process."""

from __future__ import annotations

import asyncio
import fractions
import io
import re
import subprocess
import sys
from pathlib import Path

import av
import pytest

from streaming.video.hls import QUEUE, Packager
from streaming.video.playlist import PART_TARGET, Progress
from streaming.video.tap import EncodedFrame, is_keyframe
from tests.conftest import TIMEOUT
from tests.streaming.video.test_hls import until
from tests.streaming.video.test_whip import BITS, BLOCK, HEIGHT, WIDTH, count_of

RATE = 48_000


async def fed(packager: Packager, frames: list[EncodedFrame]) -> None:
    """Frames as fast as the packager's thread takes them (a full queue would drop some)."""
    for frame in frames:
        packager.write(frame)
        if packager.backlog > QUEUE // 2:
            await until(lambda: packager.backlog < QUEUE // 4, step=0.01)


def numbered(codec: str, count: int, gop: int = 30) -> list[EncodedFrame]:
    """`count` 30 fps frames, frame n showing n as test_whip's Counted does."""
    encoder = av.CodecContext.create("libvpx" if codec == "VP8" else "libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    encoder.time_base, encoder.framerate = fractions.Fraction(1, 90_000), fractions.Fraction(30)
    encoder.gop_size = gop
    if codec == "H264":
        encoder.options = {"preset": "ultrafast", "tune": "zerolatency"}
    made = []
    for n in [*range(count), None]:
        if n is None:  # the encoder's last frames
            frame = None
        else:
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            row = b"".join(
                bytes([235 if n >> b & 1 else 16]) * (WIDTH // BITS) for b in range(BITS)
            )
            frame.planes[0].update(row * BLOCK + b"\x80" * WIDTH * (HEIGHT - BLOCK))
            for plane in frame.planes[1:]:
                plane.update(b"\x80" * plane.buffer_size)
            frame.pts, frame.time_base = n * 3000, encoder.time_base
        for packet in encoder.encode(frame):
            data = bytes(packet)
            at = packet.pts or 0
            made.append(EncodedFrame("video", codec, data, at, is_keyframe(codec, data)))
    return made


def opus(seconds: float) -> list[EncodedFrame]:
    """A 440 Hz tone as 20 ms Opus frames, as a browser sends it, on the 48 kHz clock."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = RATE, "stereo", "s16"
    encoder.time_base = fractions.Fraction(1, RATE)
    made = []
    for n in range(int(seconds * 50)):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        tone = bytes(b for i in range(960) for b in (int(8000 * ((i % 109) / 54.5 - 1)) & 0xFFFF)
                     .to_bytes(2, "little") * 2)  # fmt: skip
        frame.planes[0].update(tone)
        frame.sample_rate, frame.pts, frame.time_base = RATE, n * 960, encoder.time_base
        made += [EncodedFrame("audio", "opus", bytes(p), n * 960, True)
                 for p in encoder.encode(frame)]  # fmt: skip
    return made


def interleaved(video: list[EncodedFrame], audio: list[EncodedFrame]) -> list[EncodedFrame]:
    """Both tracks in the order of their times, as they arrive."""
    timed = [(f.timestamp / 90_000, 0, f) for f in video] + [
        (f.timestamp / RATE, 1, f) for f in audio
    ]
    return [f for _, _, f in sorted(timed, key=lambda t: t[:2])]


def decoded(fmp4: bytes) -> tuple[list[int], list[av.AudioFrame]]:
    with av.open(io.BytesIO(fmp4), "r", format="mp4") as container:
        counts = [count_of(f) for f in container.decode(video=0)]
    with av.open(io.BytesIO(fmp4), "r", format="mp4") as container:
        if not container.streams.audio:
            return counts, []
        assert container.streams.audio[0].codec_context.name == "aac"
        return counts, list(container.decode(audio=0))


def listed(text: str) -> list[tuple[str, list[str]]]:
    """Each complete segment of the playlist with its parts' names (none if not listed)."""
    found, parts = [], []
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART:"):
            parts.append(re.search(r'URI="([^"]+)"', line)[1])  # type: ignore[index]
        elif line.endswith(".m4s"):
            found.append((line, parts))
            parts = []
    return found


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_the_parts_of_a_segment_are_the_segment_and_decode_into_its_frames(
    tmp_path: Path, codec: str
) -> None:
    folder = tmp_path / "op"
    packager = Packager(folder, lambda: None)
    await fed(packager, numbered(codec, 150))  # five seconds: five segments of three parts
    await packager.close()
    text = (folder / "index.m3u8").read_text()
    assert "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.002" in text
    assert f"#EXT-X-PART-INF:PART-TARGET={PART_TARGET:.3f}" in text
    durations = [float(d) for d in re.findall(r"#EXT-X-PART:DURATION=([\d.]+)", text)]
    assert durations and max(durations) <= PART_TARGET
    (init_name,) = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', text)
    init = (folder / init_name).read_bytes()
    with_parts = [(s, p) for s, p in listed(text) if p]
    assert len(with_parts) >= 2
    everything: list[int] = []
    appended, of_parts = (
        init,
        list[int](),
    )  # every part in turn, as a low-latency player appends them
    for name, parts in listed(text):
        whole = (folder / name).read_bytes()
        counts, sound = decoded(init + whole)
        assert sound == []  # no audio published, no audio track
        everything += counts
        if parts:
            assert len(parts) == 3
            joined = b"".join((folder / part).read_bytes() for part in parts)
            assert joined == whole
            assert decoded(init + joined)[0] == counts
            appended, of_parts = appended + joined, of_parts + counts
    assert everything == list(range(everything[0], 150))
    assert decoded(appended)[0] == of_parts
    assert f'URI="{with_parts[-1][1][0]}",INDEPENDENT=YES' in text


async def test_the_hosts_opus_comes_out_as_aac_in_the_same_segments(tmp_path: Path) -> None:
    folder = tmp_path / "op"
    packager = Packager(folder, lambda: None)
    await fed(packager, interleaved(numbered("VP8", 90), opus(3.0)))
    await packager.close()
    text = (folder / "index.m3u8").read_text()
    (init_name,) = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', text)
    init = (folder / init_name).read_bytes()
    names = [name for name, _ in listed(text)]
    counts, sound = decoded(init + b"".join((folder / n).read_bytes() for n in names))
    assert counts == list(range(90))
    samples = sum(frame.samples for frame in sound)
    assert {frame.sample_rate for frame in sound} == {RATE}
    assert 2.5 * RATE <= samples <= 3.1 * RATE  # the host's three seconds, none lost
    loudest = max(float(abs(frame.to_ndarray()).max()) for frame in sound)  # type: ignore[attr-defined]
    assert loudest > 0.1  # the tone, not silence


async def test_a_waiting_process_learns_of_a_playlist_another_process_writes(
    tmp_path: Path,
) -> None:
    from server.web.hls import _Watch  # the mechanism every server process uses

    playlist = tmp_path / "index.m3u8"
    playlist.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:4\n")
    watch = _Watch(playlist)
    assert await watch.until(lambda t: Progress.of(t).has(4, 0), 0.2) is None  # not yet
    writer = (
        "import sys, pathlib; from streaming.video.playlist import write_whole; "
        "write_whole(pathlib.Path(sys.argv[1]), b'#EXTM3U\\n#EXT-X-MEDIA-SEQUENCE:4\\n"
        '#EXT-X-PART:DURATION=0.333,URI="a-4.0.m4s",INDEPENDENT=YES\\n\')'
    )
    waiting = asyncio.create_task(watch.until(lambda t: Progress.of(t).has(4, 0), 3 * TIMEOUT))
    await asyncio.sleep(0)
    assert not waiting.done()
    await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", writer, str(playlist)], check=True
    )
    text = await waiting
    assert text is not None and b'URI="a-4.0.m4s"' in text
