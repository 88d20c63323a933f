"""The WebSocket wire format: one message map, two encodings.

`openbid.msgpack.v1` sends each message as a msgpack map in a binary frame;
`openbid.json.v1` sends the same map as JSON in a text frame. A message is a map with a
`type` (client: hello, bid, continue, accept, ping; server: welcome, event, ack, nack, pong,
error). Decoding checks only the envelope (a map with a string `type`); each handler checks
its own fields. Close codes are part of the wire too and live here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import msgpack
from websockets.frames import Frame, Opcode

from auction.errors import BadMessage

__all__ = ["CODECS", "JSON", "MSGPACK", "Close", "Codec", "negotiate"]


class Close(IntEnum):
    """Why the server closed a socket. 1xxx are RFC 6455's; 4xxx are ours."""

    GOING_AWAY = 1001  # the server is shutting down: reconnect with `since`
    POLICY = 1008  # abusive client (origin refused, flooding)
    TOO_BIG = 1009  # a frame over the size limit
    TRY_LATER = 1013  # this process is at its connection cap
    TOO_SLOW = 4008  # the client fell behind its queue: reconnect with `since`
    REPLACED = 4009  # the same bidder signed in elsewhere
    NO_HELLO = 4000  # the first frame was not a valid hello


@dataclass(frozen=True, slots=True)
class Codec:
    subprotocol: str
    binary: bool

    def encode(self, message: dict[str, Any]) -> bytes | str:
        if self.binary:
            packed: bytes = msgpack.packb(message, use_bin_type=True)
            return packed
        return json.dumps(message, ensure_ascii=False, separators=(",", ":"))

    def wire(self, payload: bytes | str) -> bytes:
        """The whole WebSocket frame (server to client, unmasked) carrying `payload`:
        built once, written to every viewer's transport as is."""
        if isinstance(payload, str):
            return Frame(Opcode.TEXT, payload.encode()).serialize(mask=False)
        return Frame(Opcode.BINARY, payload).serialize(mask=False)

    def decode(self, frame: bytes | str | None) -> dict[str, Any]:
        """The message in a frame; BadMessage for a frame of the wrong kind or shape."""
        if frame is None or isinstance(frame, str) == self.binary:
            kind = "二进制" if self.binary else "文本"
            raise BadMessage("frame", f"本协议只收{kind}帧", f"expected a {kind} frame")
        try:
            message = self._load(frame)
        except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError,
                msgpack.StackError, RecursionError):  # fmt: skip
            raise BadMessage("frame", "无法解码", "cannot be decoded") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise BadMessage("type", "须为含 type 的对象", "must be a map with a type")
        return message

    def _load(self, frame: bytes | str) -> Any:
        if isinstance(frame, bytes):
            return msgpack.unpackb(frame, raw=False, strict_map_key=True)
        return json.loads(frame)


MSGPACK = Codec("openbid.msgpack.v1", binary=True)
JSON = Codec("openbid.json.v1", binary=False)
CODECS = {codec.subprotocol: codec for codec in (MSGPACK, JSON)}


def negotiate(offered: list[str]) -> Codec | None:
    """The first subprotocol the client offered that we speak; None if none."""
    return next((CODECS[name] for name in offered if name in CODECS), None)
