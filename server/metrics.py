"""What `/metrics` shows, in Prometheus's text format. One registry per app, so several
apps in one process (the tests) keep separate counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]

_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


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

    def render(self) -> bytes:
        return generate_latest(self.registry)
