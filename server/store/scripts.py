"""What every book shares: the Lua scripts of `lua/`, and msgpack, the store's encoding."""

from __future__ import annotations

from importlib import resources
from typing import Any

import msgpack
from redis.commands.core import AsyncScript

__all__ = ["pack", "script", "unpack"]


def script(client: Any, name: str) -> AsyncScript:
    """`lua/{name}.lua`, registered with `client` (EVALSHA, loaded on first use)."""
    source = resources.files("server.store").joinpath("lua", f"{name}.lua").read_text()
    found: AsyncScript = client.register_script(source)
    return found


def pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def unpack(raw: bytes) -> Any:
    return msgpack.unpackb(raw, raw=False)
