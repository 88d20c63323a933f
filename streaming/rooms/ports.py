"""What the rooms need from the server that runs them, as protocols: the rooms import
nothing of the server, and the server's classes satisfy these by their shape.

- `Feed`: a log as the rooms read it (the server's `server/store/logs.py` `Logs`);
- `Venue`: what a room is about, a lot or an opening (`server/services/venues.py`);
- `Gauges`: the figures the rooms keep (`server/metrics.py` `Metrics`);
- `RoomLimits`: how much one client may ask (`server/limits.py` `Limits`).
"""

from __future__ import annotations

from typing import Any, Protocol

from auction.log import Entry
from auction.signals import Seen

__all__ = ["Feed", "Gauges", "RoomLimits", "Venue"]


class Feed(Protocol):
    def channels(self, log_id: str) -> tuple[str, str]:
        """The log's pub/sub channel of entries, and its channel of control notices."""

    def log_of(self, name: bytes) -> tuple[str, bool]:
        """Which log a channel is of, and whether it is the control channel."""

    def decode(self, message: bytes) -> tuple[int, list[Entry]]:
        """A published message: the decision's server time and the entries it wrote."""

    async def last_seq(self, log_id: str) -> int: ...

    async def entries_after(self, log_id: str, seq: int) -> list[Entry]: ...

    async def read(self, log_id: str, after: int, count: int) -> list[Entry]:
        """Up to `count` entries after the audit seq `after`, in order."""

    async def public_position(self, log_id: str, pseq: int) -> int:
        """The audit seq of the entry the public knows as `pseq` (0 for 0)."""


class Venue(Protocol):
    """A lot (`/ws/lots/{id}`) or an opening (`/ws/openings/{id}`): what differs between
    the two rooms, and the sessions and clock they share."""

    @property
    def name(self) -> str: ...  # the welcome's key for the snapshot: "lot" or "opening"

    @property
    def commands(self) -> tuple[str, ...]: ...  # what the venue decides

    async def exists(self, venue_id: str) -> bool: ...

    async def bidder(self, venue_id: str, token: str) -> tuple[str, str | None]:
        """The bidder id and plate a token acts for; raises Unauthorized or NotFound."""

    async def snapshot(self, venue_id: str, bidder_id: str | None) -> tuple[dict[str, Any], int]:
        """The welcome's snapshot, and the audit seq it reflects."""

    async def act(
        self, venue_id: str, kind: str, message: dict[str, Any], role: str,
        bidder_id: str | None, seen: Seen | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Decide a command; the answer has `accepted` and, when refused, `code`. `seen`:
        the connection's address and device, for the supervisor's collusion signals."""

    async def staff_role(self, token: str) -> str | None:
        """ "admin" or "supervisor" for a staff token, else None."""

    async def claim_session(self, venue_id: str, bidder_id: str, session: str) -> None:
        """Make `session` the bidder's only current one."""

    async def session_is_current(self, venue_id: str, bidder_id: str, session: str) -> bool: ...

    async def server_time(self) -> int:
        """The store's clock, in ms."""


class _Observes(Protocol):
    def observe(self, amount: float) -> None: ...


class _Counts(Protocol):
    def inc(self, amount: float = 1) -> None: ...


class _Moves(_Counts, Protocol):
    def dec(self, amount: float = 1) -> None: ...


class _Labelled(Protocol):
    def labels(self, *values: str) -> _Moves: ...


class _CountedBy(Protocol):
    def labels(self, *values: str) -> _Counts: ...


class Gauges(Protocol):
    @property
    def fanout_lag(self) -> _Observes: ...

    @property
    def delivered(self) -> _Counts: ...

    @property
    def queue_drops(self) -> _Counts: ...

    @property
    def connections(self) -> _Labelled: ...

    @property
    def closes(self) -> _CountedBy: ...

    def bad_frame(self, code: str) -> None: ...


class RoomLimits(Protocol):
    @property
    def queue(self) -> int: ...  # frames a client may fall behind (ASGI path)

    @property
    def send_buffer(self) -> int: ...  # bytes unsent to a client (raw path)

    @property
    def max_connections(self) -> int: ...

    @property
    def reserved(self) -> int: ...  # of those, kept for bidders and staff

    @property
    def public_per_address(self) -> int: ...

    @property
    def pending_per_address(self) -> int: ...

    @property
    def frames_per_s(self) -> float: ...

    @property
    def frame_burst(self) -> int: ...

    @property
    def hello_timeout_s(self) -> float: ...

    @property
    def origins(self) -> tuple[str, ...]: ...
