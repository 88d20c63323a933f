"""What `/metrics` shows, in Prometheus's text format. One registry per app, so several
apps in one process (the tests) keep separate counts.

Every label value comes from a closed set written here: a value a client chose (a command
`type`, an error code) would be a new time series for ever, memory without bound and a
`/metrics` that grows with every request (security review H2).
"""

from __future__ import annotations

import gc
import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from auction.errors import ERROR_CODES

__all__ = ["COMMANDS", "Metrics", "label"]

COMMANDS = frozenset(
    ("bid", "continue", "accept", "sign_in", "decrypt", "confirm", "object", "advance",
     "pause", "resume", "fault", "backup", "reply", "reopen", "cosign")
)  # fmt: skip
CODES = ERROR_CODES | {"ACCEPTED"}


def label(value: str, known: frozenset[str]) -> str:
    """`value` when it is one of `known`, else "other"."""
    return value if value in known else "other"


_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_PAUSE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connections = Gauge(
            "openbid_ws_connections", "Open WebSocket connections", ["role"],
            registry=self.registry,
        )  # fmt: skip
        self.decisions = Counter(
            "openbid_decisions", "Commands decided, by outcome code (ACCEPTED or a refusal)",
            ["command", "code"], registry=self.registry,
        )  # fmt: skip
        self.fanout_lag = Histogram(
            "openbid_fanout_lag_seconds", "From an entry's server time to its fan-out here",
            buckets=_LAG_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.delivered = Counter(
            "openbid_ws_frames_out", "Event frames queued toward clients", registry=self.registry
        )
        self.queue_drops = Counter(
            "openbid_ws_queue_drops", "Clients closed for falling behind their queue",
            registry=self.registry,
        )  # fmt: skip
        self.closes = Counter(
            "openbid_ws_closes", "Connections closed by the server, by reason", ["reason"],
            registry=self.registry,
        )  # fmt: skip
        self.bad_frames = Counter(
            "openbid_ws_bad_frames", "Frames answered with an error, by code", ["code"],
            registry=self.registry,
        )  # fmt: skip
        self.anchors = Counter(
            "openbid_anchors", "Requests to the time-stamping authority for a checkpoint's "
            "RFC 3161 token, by outcome (anchored or failed)", ["outcome"],
            registry=self.registry,
        )  # fmt: skip

        self.gc_pauses = Histogram(
            "openbid_gc_pause_seconds", "Passes of Python's cycle collector, by generation: "
            "the whole process stops, every client waits", ["generation"],
            buckets=_PAUSE_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.gc_longest = Gauge(
            "openbid_gc_pause_longest_seconds", "The longest collector pause so far",
            registry=self.registry,
        )  # fmt: skip
        self.gc_frozen = Gauge(
            "openbid_gc_frozen_objects", "Objects in the collector's permanent generation, "
            "which no pass walks (server/pauses.py)", registry=self.registry,
        )  # fmt: skip
        self.gc_reclaims = Counter(
            "openbid_gc_reclaims", "Full passes over frozen objects too, freeing the cycles "
            "that died frozen: each one of the generation-2 pauses", registry=self.registry,
        )  # fmt: skip
        self._gc_started = self._gc_longest = 0.0
        self._gc_timed: deque[tuple[int, float]] = deque(maxlen=10_000)

    def decided(self, command: str, code: str) -> None:
        self.decisions.labels(label(command, COMMANDS), label(code, CODES)).inc()

    def bad_frame(self, code: str) -> None:
        self.bad_frames.labels(label(code, CODES)).inc()

    def time_gc(self, phase: str, info: dict[str, int]) -> None:
        """A `gc.callbacks` entry: the app adds it on startup and removes it on shutdown. It
        only notes the pause (no lock may be taken inside the collector); `render` counts."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._gc_timed.append((info["generation"], time.perf_counter() - self._gc_started))

    def render(self) -> bytes:
        while self._gc_timed:
            generation, seconds = self._gc_timed.popleft()
            self.gc_pauses.labels(str(generation)).observe(seconds)
            self._gc_longest = max(self._gc_longest, seconds)
        self.gc_longest.set(self._gc_longest)
        self.gc_frozen.set(gc.get_freeze_count())  # a walk of the list, but no pause
        return generate_latest(self.registry)
