"""The livestream over HLS: how late the frames are, and what a thousand players cost.

    python loadtests/bench_hls.py [--players 1000] [--processes 2] [--seconds 20] [--codec VP8]

One 360p 30 fps stream (loadtests/bench_webrtc.py's `Stamped`: a moving texture, each frame
carrying its capture time in its pixels) is published over WHIP to `openbid serve` (one
process), as VP8 (a browser's codec: the server encodes it once as H.264) or H.264 (OBS's:
muxed as it came). Then:
- latency: a probe fetches each new segment as soon as the playlist lists it and decodes
  it; for every frame, from capture to the moment its segment was in hand, p50 and p95.
  A player adds its own buffer on top (hls.js as the opening page sets it up starts two
  segments behind the live edge, about 2 s more);
- load: `--players` simulated players in `--processes` processes (aiohttp), each reloading
  the playlist once a target duration and fetching every new segment once, as hls.js
  does, straight from the server (no CDN in between: the origin's worst case). Reported:
  requests and megabytes per second served, the server's CPU (cores busy), segments
  missed by players.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import av
import httpx
from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.bench_fanout import cpu_seconds  # noqa: E402
from loadtests.bench_webrtc import ADMIN, BITS, Stamped, read_stamp, routes, wait_up  # noqa: E402
from server.store.embedded import free_port  # noqa: E402


def segments_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.endswith(".m4s")]


def init_of(text: str) -> str | None:
    found = [line for line in text.splitlines() if line.startswith("#EXT-X-MAP:URI=")]
    return found[-1].split('"')[1] if found else None


# ---- the players' processes ---------------------------------------------------------------


async def player(
    http: aiohttp.ClientSession, base: str, until: float, tally: dict[str, int]
) -> None:
    """One player: the playlist every second, each new segment once (and the init)."""
    seen: set[str] = set()
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            async with http.get(f"{base}/index.m3u8") as answer:
                text = await answer.text()
                tally["requests"] += 1
                tally["bytes"] += len(text)
            wanted = [init_of(text)] if init_of(text) not in seen else []
            for name in [*wanted, *segments_of(text)[-2:]]:
                if name is None or name in seen:
                    continue
                async with http.get(f"{base}/{name}") as answer:
                    body = await answer.read()
                    tally["requests"] += 1
                    tally["bytes"] += len(body)
                    tally["failed"] += answer.status != 200
                seen.add(name)
        except aiohttp.ClientError:
            tally["failed"] += 1
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))  # hls.js's pace


async def players(base: str, count: int, seconds: float) -> None:
    tally = {"requests": 0, "bytes": 0, "failed": 0}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        print("ready", flush=True)
        until = time.perf_counter() + seconds
        await asyncio.gather(*(player(http, base, until, tally) for _ in range(count)))
    print(json.dumps(tally), flush=True)


# ---- the latency probe --------------------------------------------------------------------


async def probe(http: httpx.AsyncClient, base: str, seconds: float) -> list[float]:
    """Capture-to-in-hand latency (ms) of every frame of every segment listed meanwhile."""
    latencies: list[float] = []
    seen: set[str] = set()
    init: bytes | None = None
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        text = (await http.get(f"{base}/index.m3u8")).text
        if init is None and (name := init_of(text)):
            init = (await http.get(f"{base}/{name}")).content
        for name in segments_of(text):
            if name in seen or init is None:
                continue
            seen.add(name)
            data = (await http.get(f"{base}/{name}")).content
            now = int(time.time() * 1000) % (1 << BITS)
            with av.open(io.BytesIO(init + data), "r", format="mp4") as container:
                for frame in container.decode(video=0):
                    latencies.append((now - read_stamp(frame)) % (1 << BITS))
        await asyncio.sleep(0.05)  # a probe polling faster than any player would
    return latencies[30:]  # the first segments were listed before the probe began


# ---- the driver ---------------------------------------------------------------------------


async def whip(http: httpx.AsyncClient, opening_path: str, codec: str) -> RTCPeerConnection:
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver(Stamped(), direction="sendonly")
    codecs = RTCRtpSender.getCapabilities("video").codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType == f"video/{codec}"])
    await pc.setLocalDescription(await pc.createOffer())
    sdp = {"content-type": "application/sdp"}
    answer = await http.post(opening_path, content=pc.localDescription.sdp, headers=sdp)
    answer.raise_for_status()
    await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
    return pc


async def main(args: argparse.Namespace) -> None:
    port, tmp = free_port(), tempfile.TemporaryDirectory()
    env = os.environ | {"OPENBID_ADMIN_TOKEN": ADMIN, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port),
               "--data-dir", tmp.name]  # fmt: skip
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=None if args.verbose else subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    publisher = None
    try:
        admin = {"authorization": f"Bearer {ADMIN}"}
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=admin) as http:
            await wait_up(http)
            publish, _ = await routes(http, "openbid")
            opening = publish.split("/")[3]
            publisher = await whip(http, f"/api/openings/{opening}/whip", args.codec)
            base = f"/live/openings/{opening}"
            quiet_cpu = await idle_cpu(server.pid)
            latencies = await probe(http, base, args.probe_seconds)
            load = await loaded(server.pid, url + base, args)
        report(args, sorted(latencies) or [float("nan")], quiet_cpu, load)
    finally:
        if publisher is not None:
            await publisher.close()
        server.terminate()
        server.wait()
        tmp.cleanup()


async def idle_cpu(pid: int) -> float:
    """The server's cores busy with the stream alone (receiving, packaging, no players)."""
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(3)
    return (cpu_seconds(pid) - cpu0) / (time.perf_counter() - wall0)


async def loaded(pid: int, base: str, args: argparse.Namespace) -> dict[str, Any]:
    each = [args.players // args.processes + (i < args.players % args.processes)
            for i in range(args.processes)]  # fmt: skip
    made = [await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--player-process", base, str(n), str(args.seconds),
        stdout=subprocess.PIPE) for n in each]  # fmt: skip
    for process in made:
        assert process.stdout is not None
        await process.stdout.readline()  # "ready"
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    tallies = [json.loads(await p.stdout.readline()) for p in made if p.stdout is not None]
    cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - wall0
    for process in made:
        await process.wait()
    total = {key: sum(t[key] for t in tallies) for key in tallies[0]}
    return total | {"cores": cpu / wall, "wall": wall}


def report(args: argparse.Namespace, lat: list[float], quiet: float, load: dict[str, Any]) -> None:
    rows = {
        "codec": args.codec, "players": args.players,
        "latency_p50_ms": lat[len(lat) // 2], "latency_p95_ms": lat[int(len(lat) * 0.95)],
        "server_cores_stream_only": quiet, "server_cores_with_players": load["cores"],
        "requests_per_s": load["requests"] / load["wall"],
        "megabytes_per_s": load["bytes"] / load["wall"] / 1e6, "failed": load["failed"],
    }  # fmt: skip
    for key, value in rows.items():
        print(f"{key:28} {value:.2f}" if isinstance(value, float) else f"{key:28} {value}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--player-process":
        asyncio.run(players(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
        sys.exit(0)
    parser = argparse.ArgumentParser()
    parser.add_argument("--players", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--probe-seconds", type=float, default=12.0)
    parser.add_argument("--codec", choices=("VP8", "H264"), default="VP8")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--verbose", action="store_true", help="show the server's log")
    asyncio.run(main(parser.parse_args()))
