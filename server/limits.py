"""How much one client may ask of a server process, and one token bucket per bidder."""

from __future__ import annotations

from dataclasses import dataclass

from streaming.rooms.bucket import Bucket

__all__ = ["Limiter", "Limits"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_frame: int = 4096  # bytes in one client frame (uvicorn's ws_max_size)
    queue: int = 1024  # frames a client may fall behind before it is closed (ASGI path)
    send_buffer: int = 1 << 20  # bytes unsent to a client before it is closed (raw path)
    max_connections: int = 20_000  # WebSocket connections per process
    reserved: int = 2_000  # of those, kept for bidders and staff: the public gets the rest
    public_per_address: int = 64  # public viewers from one client address, per process
    pending_per_address: int = 64  # sockets from one address that have not said hello yet
    header_timeout_s: float = 10.0  # for a request's head, from its first byte
    body_timeout_s: float = 20.0  # for a JSON body; an envelope gets `envelope_timeout_s`
    envelope_timeout_s: float = 120.0
    frames_per_s: float = 20.0  # any frame, per connection
    frame_burst: int = 60
    bids_per_s: float = 5.0  # commands that reach the bid book, per bidder
    bid_burst: int = 10
    hello_timeout_s: float = 10.0
    ping_interval_s: float = 20.0  # the server's keepalive ping; a client silent as long
    # again after one is closed (1011): a dead peer's socket is not kept for ever
    envelopes_per_s: float = 0.2  # envelope uploads, per tenderer
    envelope_burst: int = 3
    envelope_budget: int = 32 << 20  # bytes one tenderer may upload to an opening, all told
    opening_envelopes: int = 512 << 20  # bytes of envelopes one opening may hold at once
    origins: tuple[str, ...] = ()  # browser origins allowed besides the server's own


class Limiter:
    """One bucket per key (a lot's bidder), kept while it is in use."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[tuple[str, str], Bucket] = {}

    def take(self, key: tuple[str, str]) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 100_000:  # forget idle bidders rather than grow forever
                self._buckets.clear()
            bucket = self._buckets[key] = Bucket(self.rate, self.burst)
        return bucket.take()
