"""Structured logs: one JSON object per line on stderr, for a log shipper to read."""

from __future__ import annotations

import logging
import sys

import structlog

__all__ = ["configure"]


def configure(level: int = logging.INFO) -> None:
    """Render structlog events and the standard library's records (uvicorn's, redis-py's)
    alike, as JSON lines with a timestamp, level and logger name."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for chatty in ("aioice", "aiortc", "httpx"):  # a line per ICE check, RTCP packet, request
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
