"""Livestream viewers per core, OpenBid's forwarding beside aiortc's default relay.

    python loadtests/bench_webrtc.py [--viewers 60] [--baseline-viewers 6] [--seconds 15]

One 360p stream (a synthetic 30 fps picture encoded by a Python aiortc publisher, which
stamps each frame's capture time into its pixels as a bar code) goes to N viewers on one
server process: OpenBid (`openbid serve`, the opening's /webrtc routes), then the baseline
(loadtests/relay_baseline.py: aiortc's `MediaRelay`, one encoder per viewer), in the same
run. Viewers run in a separate process; most only count frames (no decoding: the load
generator must not be the bottleneck), `--sample` of them decode and read the stamp.
Reported, over the steady window after every viewer is connected:
- viewers per core: N / (the server's CPU seconds / wall seconds);
- frames per second reaching the viewers (each should get the publisher's ~30);
- latency from capture to decode at the sampling viewers, p50 and p95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import httpx
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from aiortc.mediastreams import MediaStreamError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.bench_fanout import cpu_seconds  # noqa: E402
from server.store.embedded import free_port  # noqa: E402
from streaming.video.tap import EncodedFrame, tap  # noqa: E402

WIDTH, HEIGHT, BITS, BLOCK = 640, 360, 32, 16
ADMIN = "bench-admin-token"


class Stamped(VideoStreamTrack):
    """360p frames of a moving texture (an encoder's work is like a camera's, not a flat
    picture's), each carrying its capture time (ms mod 2^32) as 32 blocks on top."""

    def __init__(self) -> None:
        super().__init__()
        self.texture = os.urandom(WIDTH * (HEIGHT + 64))
        self.shift = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        stamp = int(time.time() * 1000) % (1 << BITS)
        row = bytearray(b"\x80" * WIDTH)
        for bit in range(BITS):
            value = 235 if stamp >> bit & 1 else 16
            row[bit * BLOCK : (bit + 1) * BLOCK] = bytes([value]) * BLOCK
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        luma = frame.planes[0]
        rows = bytes(row).ljust(luma.line_size, b"\x80") * BLOCK
        self.shift = (self.shift + 1) % 64
        start = self.shift * WIDTH
        moving = self.texture[start : start + WIDTH * (HEIGHT - BLOCK)]
        assert luma.line_size == WIDTH
        luma.update(rows + moving)
        for plane in frame.planes[1:]:
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


def read_stamp(frame: av.VideoFrame) -> int:
    luma = frame.planes[0]
    row = bytes(luma)[luma.line_size * (BLOCK // 2) : luma.line_size * (BLOCK // 2 + 1)]
    return sum(1 << bit for bit in range(BITS) if row[bit * BLOCK + BLOCK // 2] > 128)


async def negotiate(http: httpx.AsyncClient, url: str, pc: RTCPeerConnection) -> None:
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}
    answer = (await http.post(url, json=offer)).raise_for_status().json()
    await pc.setRemoteDescription(RTCSessionDescription(**answer))


# ---- the viewers' process ---------------------------------------------------------------


async def viewers(url: str, count: int, sample: int, seconds: float) -> None:
    counted, latencies, peers = [0], list[float](), []
    started = [0.0]

    def count_frame(frame: EncodedFrame) -> None:
        if started[0]:
            counted[0] += 1

    async def decode(track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if started[0]:
                now = int(time.time() * 1000) % (1 << BITS)
                latencies.append((now - read_stamp(frame)) % (1 << BITS))
                counted[0] += 1

    async with httpx.AsyncClient(timeout=30) as http:
        for i in range(count):
            pc = RTCPeerConnection()
            peers.append(pc)
            transceiver = pc.addTransceiver("video", direction="recvonly")
            if i < sample:
                pc.on("track", lambda track: asyncio.ensure_future(decode(track)))
            else:
                tap(transceiver.receiver, count_frame)
            await negotiate(http, url, pc)
    await asyncio.sleep(2)  # let every stream settle after its keyframe
    print("ready", flush=True)
    started[0] = time.perf_counter()
    await asyncio.sleep(seconds)
    wall = time.perf_counter() - started[0]
    print(json.dumps({"frames": counted[0], "wall": wall, "latencies": latencies}), flush=True)
    await asyncio.gather(*(pc.close() for pc in peers))


# ---- the driver -------------------------------------------------------------------------


async def run(kind: str, count: int, args: argparse.Namespace) -> dict[str, Any]:
    port, tmp = free_port(), tempfile.TemporaryDirectory()
    env = os.environ | {"OPENBID_ADMIN_TOKEN": ADMIN, "PYTHONPATH": str(ROOT)}
    if kind == "openbid":
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                   "--data-dir", tmp.name]  # fmt: skip
    else:
        command = [
            sys.executable,
            str(ROOT / "loadtests" / "relay_baseline.py"),
            "--port",
            str(port),
        ]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=None if args.verbose else subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    headers = {"authorization": f"Bearer {ADMIN}"}
    publisher = RTCPeerConnection()
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            await wait_up(http)
            publish, watch = await routes(http, kind)
            publisher.addTransceiver(Stamped(), direction="sendonly")
            await negotiate(http, publish, publisher)
            await asyncio.sleep(1)
        return await measure(server.pid, base + watch, count, args)
    finally:
        await publisher.close()
        server.terminate()
        server.wait()
        tmp.cleanup()


async def wait_up(http: httpx.AsyncClient) -> None:
    for _ in range(600):
        try:
            await http.post("/", json={})
            return
        except httpx.TransportError:
            await asyncio.sleep(0.05)  # a starting process: nothing to await
    raise RuntimeError("server did not start")


async def routes(http: httpx.AsyncClient, kind: str) -> tuple[str, str]:
    if kind != "openbid":
        return "/publish", "/watch"
    now = (await http.get("/api/health")).json()["server_now"]
    config = {"title": "bench", "bid_deadline": now + 3_600_000, "decrypt_window_s": 600}
    opening = (await http.post("/api/openings", json=config)).json()["opening_id"]
    return f"/api/openings/{opening}/webrtc/publish", f"/api/openings/{opening}/webrtc/watch"


async def measure(pid: int, watch: str, count: int, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--viewer-process", watch, str(count),
               str(min(args.sample, count)), str(args.seconds)]  # fmt: skip
    process = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    await process.stdout.readline()  # "ready"
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    result = json.loads(await process.stdout.readline())
    cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - wall0
    await process.wait()
    lat = sorted(result["latencies"]) or [float("nan")]
    return {
        "viewers": count, "cores": cpu / wall, "per_core": count / max(cpu / wall, 1e-9),
        "fps": result["frames"] / result["wall"] / count,
        "p50_ms": lat[len(lat) // 2], "p95_ms": lat[int(len(lat) * 0.95)],
    }  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    rows = {kind: await run(kind, n, args) for kind, n in
            (("openbid", args.viewers), ("relay", args.baseline_viewers))}  # fmt: skip
    print(f"{'server':8} {'viewers':>7} {'cores':>6} {'per core':>9} {'fps/viewer':>10} "
          f"{'p50 ms':>7} {'p95 ms':>7}")  # fmt: skip
    for kind, r in rows.items():
        print(f"{kind:8} {r['viewers']:7d} {r['cores']:6.2f} {r['per_core']:9.1f} "
              f"{r['fps']:10.1f} {r['p50_ms']:7.0f} {r['p95_ms']:7.0f}")  # fmt: skip
    ratio = rows["openbid"]["per_core"] / rows["relay"]["per_core"]
    print(f"viewers per core, openbid / aiortc relay: {ratio:.1f}x")
    if args.json:
        args.json.write_text(json.dumps(rows | {"ratio": ratio}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--viewer-process":
        url, n, sample, seconds = (
            sys.argv[2],
            int(sys.argv[3]),
            int(sys.argv[4]),
            float(sys.argv[5]),
        )
        asyncio.run(viewers(url, n, sample, seconds))
        sys.exit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=60)
    parser.add_argument("--baseline-viewers", type=int, default=6)
    parser.add_argument("--sample", type=int, default=3, help="viewers that decode")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--verbose", action="store_true", help="show the servers' logs")
    asyncio.run(main(parser.parse_args()))
