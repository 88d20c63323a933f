"""One load generator of bench_crowd.py: COUNT picows viewers in this process.

    python loadtests/crowd_viewers.py openbid|floor|socketio --url URL --count COUNT
        --bids BIDS --last-price PRICE --out PATH

One process may hold only so many open files, so bench_crowd.py runs its viewers in several
of these. The line to the driver is this process's stdin and stdout, one JSON object a line:
1. the viewers connect (a hundred at a time, as bench_pauses.py's do) and each is welcomed
   (180 s at most): `{"ready": welcomed, "failed": connections refused or timed out,
   "unwelcomed": how many connected but had no welcome, by close code ("None": still open,
   or closed without a close frame)}`;
2. once every viewer still open has the last bid (its price is `--last-price`): `{"done": true}`;
3. on the driver's `stop` line, every latency (ms, from an event's Redis `ts` to its
   receipt) goes to `--out` as float64s in machine order, then `{"delivered": ...,
   "complete": viewers that got all `--bids` events, "closed": viewers the server closed,
   "close_codes": how many it closed with each code, "cpu_s": this process's CPU}`, and
   the viewers disconnect.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from picows import WSFrame, WSMsgType, WSTransport, ws_connect  # noqa: E402

from loadtests.bench_fanout import (  # noqa: E402
    CONNECT_AT_ONCE,
    OpenBidViewer,
    SocketIOViewer,
    Tally,
)

__all__ = ["main"]

HANDSHAKE_S = 60.0  # a busy server's handshake is late, not failed
ARRIVAL_S = 180.0  # then the viewers not yet connected count as failed, and the welcomes
WELCOMED_S = 60.0  # not yet come after this more are not waited for


class Counted:
    """A viewer that also counts its own bid events and notices being closed."""

    tally: Tally
    seen = 0
    welcomed = False
    closed = False
    close_code: int | None = None  # None: closed without a close frame

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            self.close_code = int(frame.get_close_code())
        super().on_ws_frame(transport, frame)  # type: ignore[misc]

    def _seen(self, message: dict[str, Any]) -> None:
        if message.get("kind") == "bid":
            self.seen += 1
        elif message.get("type") == "welcome":
            self.welcomed = True
        super()._seen(message)  # type: ignore[misc]

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True


class CountedOpenBid(Counted, OpenBidViewer):
    pass


class CountedSocketIO(Counted, SocketIOViewer):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT and frame.get_payload_as_bytes().startswith(b"40"):
            self.welcomed = True  # joined the namespace: Socket.IO's welcome
        super().on_ws_frame(transport, frame)


VIEWERS = {"openbid": CountedOpenBid, "floor": CountedOpenBid, "socketio": CountedSocketIO}
HEADERS = {"openbid": {"Sec-WebSocket-Protocol": "openbid.msgpack.v1"}}


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def arrive(args: argparse.Namespace, tally: Tally) -> tuple[list[Any], int]:
    """Connect `--count` viewers a hundred at a time; the (transport, viewer) pairs and the
    failures."""
    make, headers = VIEWERS[args.kind], HEADERS.get(args.kind, {})
    viewers: list[Any] = []
    failed = 0
    deadline = time.perf_counter() + ARRIVAL_S
    for first in range(0, args.count, CONNECT_AT_ONCE):
        if time.perf_counter() > deadline:
            failed += args.count - first
            break
        batch = range(first, min(args.count, first + CONNECT_AT_ONCE))
        made = await asyncio.gather(
            *(ws_connect(lambda: make(tally), args.url, extra_headers=headers,
                         websocket_handshake_timeout=HANDSHAKE_S) for _ in batch),
            return_exceptions=True,
        )  # fmt: skip
        viewers += [m for m in made if not isinstance(m, BaseException)]
        failed += sum(isinstance(m, BaseException) for m in made)
    deadline = min(deadline, time.perf_counter()) + WELCOMED_S
    while tally.ready < len(viewers) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)  # welcomes arrive on the listeners' callbacks
    return viewers, failed


async def generate(args: argparse.Namespace) -> None:
    tally = Tally(last_price=args.last_price)
    viewers, failed = await arrive(args, tally)
    unwelcomed = Counter(str(v.close_code) for _, v in viewers if not v.welcomed)
    say(ready=tally.ready, failed=failed, unwelcomed=unwelcomed)
    stop = asyncio.ensure_future(asyncio.to_thread(sys.stdin.readline))
    done = False
    while not stop.done():  # done: every viewer still open has the last bid
        if not done and tally.done >= sum(not v.closed for _, v in viewers):
            say(done=True)
            done = True
        await asyncio.wait({stop}, timeout=0.05)  # deliveries arrive on the callbacks
    with args.out.open("wb") as out:
        array("d", tally.latencies).tofile(out)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    complete = sum(v.seen >= args.bids for _, v in viewers)
    codes = Counter(str(v.close_code) for _, v in viewers if v.closed)
    say(delivered=tally.delivered, complete=complete, closed=codes.total(), close_codes=codes,
        cpu_s=usage.ru_utime + usage.ru_stime)  # fmt: skip
    for transport, _ in viewers:
        transport.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(VIEWERS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--bids", type=int, required=True)
    parser.add_argument("--last-price", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(generate(args))


if __name__ == "__main__":
    main()
