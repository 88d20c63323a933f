"""`openbid serve --workers N`: N processes serving one port over one store.

Theory of operation. The parent binds the port once and hands the listening socket to every
worker, as uvicorn's own `--workers` does (uvicorn/supervisors/multiprocess.py, with
`Config.bind_socket`). The workers then share one accept queue: whichever worker is free
takes the next connection, a worker that dies strands no connection (those waiting are
taken by the others), and `--port 0` still means one port. SO_REUSEPORT, a socket per
worker, would spread connections evenly by a hash of their addresses instead, whatever each
worker's load; but the connections queued on a dying worker's socket are reset, and any
process of the same user may join the port and take a share of the bidders.

Workers are spawned, not forked: the parent runs a thread (the Valkey supervisor) and holds
the data dir's lock, neither of which a child should inherit. A spawned child receives the
socket and its line to the parent, nothing else open.

Each worker runs the whole app, and N copies of it are safe because the store decides: a
lot's bid or tick is one Lua script, an opening's step a compare-and-set, and both publish
their entries on channels every worker's hub subscribes to, so a room is the same room on
every worker. N timers tick the same due lot; the second finds nothing due
(server/services/timer.py). A chain extended twice is refused the second time
(server/store/chainer.py); one worker at a time grows the transparency log (a store lock),
one asks the TSA per interval (a lease); a document is built by whoever asks first and kept
with SET NX. What stays per worker: the connection caps and a bidder's rate of commands
(each worker counts its own), `/metrics`, and an opening's livestream, held by the worker
its host publishes to; the others pass their viewers' offers on to it over loopback
(server/web/videoroute.py), so the viewers' media goes through the holder.

The line is a socket pair per worker. The worker says on it when it serves; the parent never
writes, so a worker reads EOF there when the parent is gone, however it died, and drains
itself rather than serve on as an orphan.

SIGTERM or SIGINT to the parent sends SIGTERM to every worker, which drains as one process
does (`server.web.app.Server.shutdown`: no new connections, every WebSocket closed with 1001
once its command in hand is answered). The parent closes its copy of the socket, so the port
refuses connections once the workers have closed theirs, and waits `STOP_S` for them before
it kills any left. A worker that exits while the parent is not stopping is logged and
started again, as uvicorn's supervisor does; one that had not come up yet is started again
after `RESTART_DELAY_S`, so a worker that cannot start (its store down) does not spin. A
worker that cannot start at the very first start stops them all: the same options would
fail the same way on every restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Any

__all__ = ["RESTART_DELAY_S", "STOP_S", "Worker", "Workers", "listening_socket", "worker_count"]

log = logging.getLogger("openbid.workers")
STOP_S = 35.0  # a worker's drain: the rooms' grace, uvicorn's, then the timer's; each 10 s
RESTART_DELAY_S = 1.0  # before starting again a worker that died before it served
BACKLOG = 2048  # uvicorn's: connections the kernel holds while every worker is busy
_spawn = multiprocessing.get_context("spawn")


def worker_count(text: str) -> int:
    """`--workers`' value: a count of at least 1, or `auto`: one per core this process may
    run on (a container's cpuset, not the whole machine's)."""
    if text == "auto":
        return len(os.sched_getaffinity(0)) or 1
    count = int(text)  # argparse turns the ValueError into a usage message
    if count < 1:
        raise ValueError(text)
    return count


def listening_socket(host: str, port: int) -> socket.socket:
    """The port, bound once and listening, for `Workers` to hand to every worker. OSError
    when it cannot be bound: the caller says so and stops its store."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart over TIME_WAIT
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)  # connections queue here while the workers start
    except OSError:
        sock.close()
        raise
    return sock


@dataclass(frozen=True, slots=True)
class Worker:
    """What a worker process receives: its index, the listening socket, its line to the
    parent. The worker serves on `sock` and calls `serving` once it does."""

    index: int
    sock: socket.socket
    line: Connection

    def detach(self) -> None:
        """Leave the parent's process group: a terminal's Ctrl-C then reaches the parent
        alone, which stops each worker once (a second SIGINT would make uvicorn skip the
        drain)."""
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)

    def serving(self, on_orphaned: Callable[[], None]) -> None:
        """Tell the parent this worker serves; `on_orphaned` runs in the running loop when
        the parent is gone (the caller then stops its server)."""
        self.line.send_bytes(b"serving")
        loop = asyncio.get_running_loop()

        def gone() -> None:
            loop.remove_reader(self.line.fileno())
            log.error("worker %d: the parent process is gone; stopping", self.index)
            on_orphaned()

        loop.add_reader(self.line.fileno(), gone)  # the parent never writes: readable is EOF


@dataclass(eq=False)
class _Slot:
    index: int
    process: SpawnProcess
    line: Connection  # the parent's end
    serving: bool = False
    listening: bool = True  # its line is still worth waiting on
    restart_at: float | None = None  # when a dead one is to be started again


class Workers:
    """`count` processes, each running `target(Worker(...))` on `sock`, kept up until a
    SIGTERM or SIGINT. Owns `sock`: it is closed when `run` returns."""

    def __init__(self, count: int, target: Callable[[Worker], None], sock: socket.socket):
        self.count, self.target, self.sock = count, target, sock
        self.slots: list[_Slot] = []
        self.stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    def run(self, on_serving: Callable[[], None]) -> int:
        """Start the workers, call `on_serving` once every one serves, start again any that
        exits, and stop them all on SIGTERM or SIGINT. Returns the exit status: 0 after a
        stop, 1 when a worker could not start or stopped badly. The caller then stops the
        store."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        failed = False
        try:
            self.slots = [self._start(index) for index in range(self.count)]
            failed = not self._come_up()
            if not failed and not self.stopping:
                on_serving()
                self._supervise()
        finally:
            failed = not self._stop() or failed
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(self._wake_r)
            os.close(self._wake_w)
        return 1 if failed else 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        with contextlib.suppress(OSError):  # full: a wake-up is pending already
            os.write(self._wake_w, b"\0")

    def _start(self, index: int) -> _Slot:
        ours, theirs = _spawn.Pipe()
        process = _spawn.Process(target=self.target, args=(Worker(index, self.sock, theirs),),
                                 name=f"openbid-worker-{index}")  # fmt: skip
        process.start()  # the socket and `theirs` are duplicated into the child here
        theirs.close()
        log.info("worker %d started (pid %s)", index, process.pid)
        return _Slot(index, process, ours)

    def _wait(self, timeout: float | None = None) -> list[Any]:
        """Block until a signal, a worker's line or a worker's exit, or `timeout`."""
        watched: list[Any] = [self._wake_r]
        for slot in self.slots:
            if slot.restart_at is None:
                watched.append(slot.process.sentinel)
            if slot.listening:
                watched.append(slot.line)
        ready = wait(watched, timeout)
        if self._wake_r in ready:
            os.read(self._wake_r, 512)
        return ready

    def _come_up(self) -> bool:
        """Wait until every worker serves; False when one exits first."""
        while not self.stopping and not all(slot.serving for slot in self.slots):
            self._wait()
            self._read_lines()
            dead = [slot for slot in self.slots if not slot.process.is_alive()]
            if dead and not self.stopping:
                for slot in dead:
                    log.error("worker %d exited with %s before it served; stopping",
                              slot.index, slot.process.exitcode)  # fmt: skip
                return False
        return True

    def _read_lines(self) -> None:
        for slot in self.slots:
            if not slot.listening or not slot.line.poll():
                continue
            slot.listening = False  # a worker says one thing, once
            try:
                slot.line.recv_bytes()
            except (EOFError, OSError):
                continue  # it died first: its sentinel tells
            slot.serving = True
            log.info("worker %d serving (pid %s)", slot.index, slot.process.pid)

    def _supervise(self) -> None:
        while not self.stopping:
            now = time.monotonic()
            due = [slot.restart_at for slot in self.slots if slot.restart_at is not None]
            self._wait(max(0.0, min(due) - now) if due else None)
            self._read_lines()
            for index, slot in enumerate(self.slots):
                if self.stopping:
                    return
                if slot.restart_at is None and not slot.process.is_alive():
                    self._buried(slot)
                if slot.restart_at is not None and slot.restart_at <= time.monotonic():
                    slot.line.close()
                    self.slots[index] = self._start(slot.index)

    def _buried(self, slot: _Slot) -> None:
        """A worker exited on its own: say so, and when to start it again."""
        slot.process.join()
        slot.listening = False
        log.error("worker %d (pid %s) exited with %s; starting it again",
                  slot.index, slot.process.pid, slot.process.exitcode)  # fmt: skip
        delay = 0.0 if slot.serving else RESTART_DELAY_S  # one that never came up: not at once
        slot.restart_at = time.monotonic() + delay

    def _stop(self) -> bool:
        """SIGTERM every worker, wait for them to drain; True when each stopped cleanly."""
        alive = [slot for slot in self.slots if slot.process.is_alive()]
        for slot in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(slot.process.pid or 0, signal.SIGTERM)
        self.sock.close()  # once the workers close theirs, the port refuses connections
        deadline = time.monotonic() + STOP_S
        clean = True
        for slot in alive:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                log.error("worker %d (pid %s) did not stop in %.0f s; killing it",
                          slot.index, slot.process.pid, STOP_S)  # fmt: skip
                slot.process.kill()
                slot.process.join()
            # one stopped before it installed its handlers dies of the SIGTERM itself
            clean = clean and slot.process.exitcode in (0, -signal.SIGTERM)
        for slot in self.slots:
            slot.line.close()
        return clean
