"""The livestream over HLS: how late the frames are, and what a thousand players cost, for
regular HLS and for low-latency HLS (parts, blocking playlist reload) in the same run.

    python loadtests/bench_hls.py [--players 1000] [--processes 2] [--seconds 20] [--codec VP8]

One 360p 30 fps stream (loadtests/bench_webrtc.py's `Stamped`: a moving texture, each frame
carrying its capture time in its pixels) is published over WHIP to `openbid serve` (one
process), as VP8 (a browser's codec: the server encodes it once as H.264) or H.264 (OBS's:
muxed as it came). Then:
- latency, two probes at once on the same stream, for every frame from capture to the
  moment its segment (regular) or its part (LL) was in hand, and to the moment a playlist
  listing it was: p50 and p95. The regular probe polls the playlist every 50 ms (faster
  than any player, which reloads once a target duration); the LL probe asks for the next
  part with `_HLS_msn`/`_HLS_part` as hls.js does in low-latency mode. A player adds its
  own buffer on top (hls.js: two segments, or PART-HOLD-BACK, 1 s, in low-latency mode);
- load, regular then LL: `--players` simulated players in `--processes` processes
  (aiohttp), straight from the server (no CDN in between: the origin's worst case). A
  regular player reloads the playlist once a target duration and fetches every new
  segment once, as hls.js does; an LL player holds a blocking reload for the next part,
  then fetches that part. Reported per kind: requests and megabytes per second served,
  the server's CPU (cores busy), failed requests (503: a reload not answered in time).
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
from streaming.video.playlist import Progress  # noqa: E402


def segments_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.endswith(".m4s")]


def parts_of(text: str) -> list[list[str]]:
    """Each segment's part names, the one being made last (maybe empty)."""
    found: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("#EXT-X-PART:"):
            found[-1].append(line.split('URI="')[1].split('"')[0])
        elif line.endswith(".m4s"):
            found.append([])
    return found


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
            await fetch_new(http, base, [init_of(text), *segments_of(text)[-2:]], seen, tally)
        except aiohttp.ClientError:
            tally["failed"] += 1
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))  # hls.js's pace


async def fetch_new(
    http: aiohttp.ClientSession, base: str, names: list[str | None], seen: set[str],
    tally: dict[str, int],
) -> None:  # fmt: skip
    """Fetch each of `names` not fetched yet, as a player does, counting into `tally`."""
    for name in names:
        if name is None or name in seen:
            continue
        async with http.get(f"{base}/{name}") as answer:
            body = await answer.read()
            tally["requests"] += 1
            tally["bytes"] += len(body)
            tally["failed"] += answer.status != 200
        seen.add(name)


async def ll_player(
    http: aiohttp.ClientSession, base: str, until: float, tally: dict[str, int]
) -> None:
    """One low-latency player: a blocking reload for the next part, then the new parts."""
    seen: set[str] = set()
    asked = ""
    while time.perf_counter() < until:
        try:
            async with http.get(f"{base}/index.m3u8{asked}") as answer:
                text = await answer.text()
                tally["requests"] += 1
                tally["bytes"] += len(text)
                if answer.status != 200:
                    tally["failed"] += 1
                    asked = ""
                    continue
            now = Progress.of(text.encode())
            new = [name for names in parts_of(text)[-2:] for name in names if name not in seen]
            if not asked:  # joining: from the last few parts on, as PART-HOLD-BACK says
                seen.update(new[:-3])
                new = new[-3:]
            await fetch_new(http, base, [init_of(text), *new], seen, tally)
            asked = f"?_HLS_msn={now.next_msn}&_HLS_part={now.parts}"
        except aiohttp.ClientError:
            tally["failed"] += 1
            await asyncio.sleep(0.1)


async def players(base: str, count: int, seconds: float, kind: str) -> None:
    tally = {"requests": 0, "bytes": 0, "failed": 0}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    one = ll_player if kind == "ll" else player
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        print("ready", flush=True)
        until = time.perf_counter() + seconds
        await asyncio.gather(*(one(http, base, until, tally) for _ in range(count)))
    print(json.dumps(tally), flush=True)


# ---- the latency probe --------------------------------------------------------------------


async def probe(http: httpx.AsyncClient, base: str, seconds: float) -> dict[str, list[float]]:
    """Regular HLS: capture to segment in hand, and to the playlist that listed it (ms)."""
    got: dict[str, list[float]] = {"segment": [], "listed": []}
    seen: set[str] = set()
    init: bytes | None = None
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        text = (await http.get(f"{base}/index.m3u8")).text
        listed = now_ms()
        if init is None and (name := init_of(text)):
            init = (await http.get(f"{base}/{name}")).content
        for name in segments_of(text):
            if name in seen or init is None:
                continue
            seen.add(name)
            data = (await http.get(f"{base}/{name}")).content
            stamps = decoded_stamps(init + data)
            got["segment"] += [late(now_ms(), stamp) for stamp in stamps]
            got["listed"] += [late(listed, stamp) for stamp in stamps]
        await asyncio.sleep(0.05)  # a probe polling faster than any player would
    return {key: found[30:] for key, found in got.items()}  # listed before the probe began


async def ll_probe(http: httpx.AsyncClient, base: str, seconds: float) -> dict[str, list[float]]:
    """LL-HLS: capture to part in hand, and to the blocking reload that listed it (ms)."""
    got: dict[str, list[float]] = {"part": [], "listed": []}
    text = (await http.get(f"{base}/index.m3u8")).text
    init = (await http.get(f"{base}/{init_of(text)}")).content
    now = Progress.of(text.encode())
    seen = {name for names in parts_of(text) for name in names}
    segment, msn = b"", now.next_msn  # the parts in hand of segment `msn`, which decode
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        asked = {"_HLS_msn": now.next_msn, "_HLS_part": now.parts}
        text = (await http.get(f"{base}/index.m3u8", params=asked)).text
        listed = now_ms()
        now = Progress.of(text.encode())
        groups = parts_of(text)
        for at, names in enumerate(groups):
            group_msn = now.next_msn - (len(groups) - 1 - at)
            for name in names:
                if name in seen:
                    continue
                seen.add(name)
                if group_msn != msn:
                    segment, msn = b"", group_msn
                if init_of(text) and not segment and not name.endswith(".0.m4s"):
                    continue  # joined within a segment: decodes from its next one on
                before = len(decoded_stamps(init + segment)) if segment else 0
                segment += (await http.get(f"{base}/{name}")).content
                stamps = decoded_stamps(init + segment)[before:]
                got["part"] += [late(now_ms(), stamp) for stamp in stamps]
                got["listed"] += [late(listed, stamp) for stamp in stamps]
    return got


def decoded_stamps(fmp4: bytes) -> list[int]:
    with av.open(io.BytesIO(fmp4), "r", format="mp4") as container:
        return [read_stamp(frame) for frame in container.decode(video=0)]


def now_ms() -> int:
    return int(time.time() * 1000) % (1 << BITS)


def late(at: int, stamp: int) -> float:
    return float((at - stamp) % (1 << BITS))


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
            seconds = args.probe_seconds
            regular, ll = await asyncio.gather(probe(http, base, seconds),
                                               ll_probe(http, base, seconds))  # fmt: skip
            loads = {kind: await loaded(server.pid, url + base, args, kind)
                     for kind in ("regular", "ll")}  # fmt: skip
        report(args, regular | {f"ll_{k}": v for k, v in ll.items()}, quiet_cpu, loads)
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


async def loaded(pid: int, base: str, args: argparse.Namespace, kind: str) -> dict[str, Any]:
    each = [args.players // args.processes + (i < args.players % args.processes)
            for i in range(args.processes)]  # fmt: skip
    made = [await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--player-process", base, str(n), str(args.seconds), kind,
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


def report(
    args: argparse.Namespace, lat: dict[str, list[float]], quiet: float, loads: dict[str, Any]
) -> None:
    rows: dict[str, Any] = {"codec": args.codec, "players": args.players}
    for key, found in lat.items():
        found = sorted(found) or [float("nan")]
        rows[f"{key}_p50_ms"] = found[len(found) // 2]
        rows[f"{key}_p95_ms"] = found[int(len(found) * 0.95)]
    rows["server_cores_stream_only"] = quiet
    for kind, load in loads.items():
        rows |= {f"{kind}_server_cores": load["cores"],
                 f"{kind}_requests_per_s": load["requests"] / load["wall"],
                 f"{kind}_megabytes_per_s": load["bytes"] / load["wall"] / 1e6,
                 f"{kind}_failed": load["failed"]}  # fmt: skip
    for key, value in rows.items():
        print(f"{key:28} {value:.2f}" if isinstance(value, float) else f"{key:28} {value}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--player-process":
        asyncio.run(players(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]))
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
