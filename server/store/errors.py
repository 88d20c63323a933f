"""The store's errors that mean "not now": the command may or may not have been decided, and
the client asks again (with the same `bid_id`) once the store is back."""

from __future__ import annotations

from redis.exceptions import (
    BusyLoadingError,
    ClusterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["STORE_ERRORS"]

STORE_ERRORS = (
    OutOfMemoryError, ReadOnlyError, RedisConnectionError, RedisTimeoutError,
    BusyLoadingError, TryAgainError, ClusterDownError,
)  # fmt: skip
