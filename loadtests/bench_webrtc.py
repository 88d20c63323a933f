"""Livestream viewers per core, OpenBid's forwarding beside aiortc's default relay.

    python loadtests/bench_webrtc.py [--viewers 60] [--baseline-viewers 6] [--seconds 15]
                                     [--workers 2]

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

With `--workers N` OpenBid also runs as `openbid serve --workers N` in the same run: the host
publishes through one worker, each viewer's offer goes on a connection of its own, so the
kernel hands it to either worker, and a worker without the stream forwards it to the one
holding it (server/web/videoroute.py). Its row says how many offers were forwarded and how
much of a core the busiest process used: the media of every viewer leaves the holder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

from loadtests.bench_fanout import cpu_seconds, tree  # noqa: E402
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


async def negotiate(http: httpx.AsyncClient, url: str, pc: RTCPeerConnection) -> httpx.Headers:
    """The offer answered; the answer's headers (which worker took it)."""
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}
    answer = (await http.post(url, json=offer)).raise_for_status()
    await pc.setRemoteDescription(RTCSessionDescription(**answer.json()))
    return answer.headers


# ---- the viewers' process ---------------------------------------------------------------


async def viewers(url: str, count: int, sample: int, seconds: float, holder: str) -> None:
    counted, latencies, peers = [0], list[float](), []
    forwarded = [0]
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

    # a connection per offer: under --workers the kernel gives each to whichever worker
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=fresh) as http:
        for i in range(count):
            pc = RTCPeerConnection()
            peers.append(pc)
            transceiver = pc.addTransceiver("video", direction="recvonly")
            if i < sample:
                pc.on("track", lambda track: asyncio.ensure_future(decode(track)))
            else:
                tap(transceiver.receiver, count_frame)
            answered = await negotiate(http, url, pc)
            forwarded[0] += answered.get("x-openbid-worker", holder) != holder
    await asyncio.sleep(2)  # let every stream settle after its keyframe
    print("ready", flush=True)
    started[0] = time.perf_counter()
    await asyncio.sleep(seconds)
    wall = time.perf_counter() - started[0]
    print(json.dumps({"frames": counted[0], "wall": wall, "latencies": latencies,
                      "forwarded": forwarded[0]}), flush=True)  # fmt: skip
    await asyncio.gather(*(pc.close() for pc in peers))


# ---- the driver -------------------------------------------------------------------------


async def run(kind: str, count: int, args: argparse.Namespace) -> dict[str, Any]:
    """One server of `kind`: "openbid", "openbid-wN" (`--workers N`) or "relay"."""
    port, tmp = free_port(), tempfile.TemporaryDirectory()
    env = os.environ | {"OPENBID_ADMIN_TOKEN": ADMIN, "PYTHONPATH": str(ROOT)}
    if kind.startswith("openbid"):
        workers = kind.partition("-w")[2] or "1"
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                   "--data-dir", tmp.name, "--workers", workers]  # fmt: skip
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
            holder = (await negotiate(http, publish, publisher)).get("x-openbid-worker", "")
            await asyncio.sleep(1)
        return await measure(server.pid, base + watch, count, args, holder)
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
    if not kind.startswith("openbid"):
        return "/publish", "/watch"
    now = (await http.get("/api/health")).json()["server_now"]
    config = {"title": "bench", "bid_deadline": now + 3_600_000, "decrypt_window_s": 600}
    opening = (await http.post("/api/openings", json=config)).json()["opening_id"]
    return f"/api/openings/{opening}/webrtc/publish", f"/api/openings/{opening}/webrtc/watch"


async def measure(
    pid: int, watch: str, count: int, args: argparse.Namespace, holder: str
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--viewer-process", watch, str(count),
               str(min(args.sample, count)), str(args.seconds), holder]  # fmt: skip
    process = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    await process.stdout.readline()  # "ready"
    cpu0, each0, wall0 = cpu_seconds(pid), own_cpu(pid), time.perf_counter()
    result = json.loads(await process.stdout.readline())
    cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - wall0
    busiest = max(seconds - each0.get(each, 0.0) for each, seconds in own_cpu(pid).items())
    await process.wait()
    lat = sorted(result["latencies"]) or [float("nan")]
    return {
        "viewers": count, "cores": cpu / wall, "per_core": count / max(cpu / wall, 1e-9),
        "busiest": busiest / wall, "forwarded": result["forwarded"],
        "fps": result["frames"] / result["wall"] / count,
        "p50_ms": lat[len(lat) // 2], "p95_ms": lat[int(len(lat) * 0.95)],
    }  # fmt: skip


def own_cpu(pid: int) -> dict[int, float]:
    """The CPU seconds of each process of the server, apart."""
    found = {}
    for each in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            found[each] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


async def main(args: argparse.Namespace) -> None:
    kinds = [("openbid", args.viewers)]
    if args.workers > 1:
        kinds.append((f"openbid-w{args.workers}", args.viewers))
    rows = {kind: await run(kind, n, args) for kind, n in
            [*kinds, ("relay", args.baseline_viewers)]}  # fmt: skip
    print(f"{'server':10} {'viewers':>7} {'cores':>6} {'per core':>9} {'busiest':>7} "
          f"{'forwarded':>9} {'fps/viewer':>10} {'p50 ms':>7} {'p95 ms':>7}")  # fmt: skip
    for kind, r in rows.items():
        print(f"{kind:10} {r['viewers']:7d} {r['cores']:6.2f} {r['per_core']:9.1f} "
              f"{r['busiest']:7.2f} {r['forwarded']:9d} {r['fps']:10.1f} {r['p50_ms']:7.0f} "
              f"{r['p95_ms']:7.0f}")  # fmt: skip
    ratio = rows["openbid"]["per_core"] / rows["relay"]["per_core"]
    print(f"viewers per core, openbid / aiortc relay: {ratio:.1f}x")
    if args.workers > 1:
        workers = rows[f"openbid-w{args.workers}"]["per_core"] / rows["openbid"]["per_core"]
        print(f"viewers per core, {args.workers} workers / one process: {workers:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(rows | {"ratio": ratio}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--viewer-process":
        url, n, sample, seconds, holder = (
            sys.argv[2],
            int(sys.argv[3]),
            int(sys.argv[4]),
            float(sys.argv[5]),
            sys.argv[6],
        )
        asyncio.run(viewers(url, n, sample, seconds, holder))
        sys.exit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=60)
    parser.add_argument("--baseline-viewers", type=int, default=6)
    parser.add_argument("--sample", type=int, default=3, help="viewers that decode")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="also run openbid serve --workers N (viewers on any worker)",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--verbose", action="store_true", help="show the servers' logs")
    asyncio.run(main(parser.parse_args()))
