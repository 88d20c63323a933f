"""The baselines of bench_crowd.py, each one process of several serving one inherited socket.

    python loadtests/crowd_servers.py floor|socketio --fd FD --redis-url URL --pauses PATH

bench_crowd.py binds the port once and starts N of these on it, the way `openbid serve
--workers N` (and uvicorn's own `--workers`) does: one accept queue, whichever process is
free takes the next connection. So a baseline runs on as many processes, cores and
open-file limits as OpenBid does:
- `floor`: bench_burst.py's floor, the `websockets` library's own asyncio server: a welcome
  for each hello, then each public entry of every lot broadcast to everyone, encoded once;
- `socketio`: socketio_baseline.py's python-socketio relay on uvicorn.
Each process writes its longest pause of Python's cycle collector so far to `PATH` (seconds,
replaced each time it grows), as OpenBid's `/metrics` says its own: stock CPython collection.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


__all__ = ["KINDS", "main"]

KINDS = ("floor", "socketio")


def watch_pauses(path: Path) -> None:
    """Keep the longest collector pause in `path`; written after the pause, outside it."""
    started, longest = 0.0, 0.0

    def callback(phase: str, info: dict[str, Any]) -> None:
        nonlocal started, longest
        if phase == "start":
            started = time.perf_counter()
            return
        took = time.perf_counter() - started
        if took > longest:
            longest = took
            path.write_text(f"{took:.6f}")

    path.write_text("0")
    gc.callbacks.append(callback)


def floor(sock: socket.socket, redis_url: str) -> None:
    from loadtests.bench_burst import floor_server

    floor_server(redis_url, sock=sock)


def socketio(sock: socket.socket, redis_url: str) -> None:
    import uvicorn

    from loadtests.socketio_baseline import build

    config = uvicorn.Config(build(redis_url), log_level="warning", ws="websockets-sansio",
                            ws_per_message_deflate=False)  # fmt: skip
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--fd", type=int, required=True, help="the listening socket")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--pauses", type=Path, required=True)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # as each OpenBid worker does
    watch_pauses(args.pauses)
    sock = socket.socket(fileno=args.fd)
    {"floor": floor, "socketio": socketio}[args.kind](sock, args.redis_url)


if __name__ == "__main__":
    main()
