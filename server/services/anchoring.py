"""Anchoring the transparency log in time: after the server signs a checkpoint, at most
once an interval, it asks an RFC 3161 time-stamping authority (TSA) for a token over
SHA-256 of the checkpoint's note, and keeps it by tree size (server/store/anchors.py).

A token is the TSA's signed word that those bytes existed at its time: with the
consistency proof from the anchored tree to a later one, anyone holding the TSA's
certificate knows the first leaves of any later tree were logged by then, which the
server's own signature cannot say (its clock is its own).

The request runs in a background task of its own: a bid never waits for it. A TSA that is
down, slow or answers a bad token is logged and counted (`openbid_anchors{outcome=
"failed"}`), and asked again an interval later; the log goes on without it. Of the
processes sharing a store, one asks per interval (a lease in the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.metrics import Metrics
from server.services.transparency import Transparency
from server.store.anchors import Anchor
from server.timestamps import request_token

__all__ = ["INTERVAL_S", "TIMEOUT_S", "Anchoring"]

INTERVAL_S = 60.0  # between two requests to the TSA, at most one
TIMEOUT_S = 10.0  # a TSA that has not answered by then has failed this time

logger = logging.getLogger(__name__)


class Anchoring:
    def __init__(
        self,
        transparency: Transparency,
        url: str,
        metrics: Metrics,
        interval_s: float = INTERVAL_S,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.transparency, self.url, self.metrics = transparency, url, metrics
        self.interval_s, self.timeout_s = interval_s, timeout_s
        self._due = asyncio.Event()
        transparency.on_signed = self._due.set

    async def run(self) -> None:
        """Anchor the latest checkpoint when this process signed one, and look once an
        interval besides (another process sharing the store may have signed it: one
        without a TSA, or a worker whose lease ran out), an interval at least between two
        tries, until cancelled. Start it as a task next to the transparency log's own and
        cancel it at shutdown."""
        self._due.set()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_s):
                    await self._due.wait()
            self._due.clear()
            if not await self.anchor_latest():
                self._due.set()  # try again after the interval, grown or not
            await asyncio.sleep(self.interval_s)

    async def anchor_latest(self) -> bool:
        """Ask the TSA for a token over the latest checkpoint, unless it is anchored
        already. False when it could not be had now (the TSA or the store failed, or
        another process holds this interval's lease): the caller tries again later."""
        try:
            return await self._anchor_latest()
        except Exception as error:  # the TSA's or the store's: the log goes on without
            self.metrics.anchors.labels("failed").inc()
            logger.warning("anchoring the checkpoint failed (tried again in %.0f s): %r",
                           self.interval_s, error)  # fmt: skip
            return False

    async def _anchor_latest(self) -> bool:
        anchors = self.transparency.anchors
        kept = await self.transparency.tree.checkpoint()
        anchored = await anchors.latest_size()
        if kept is None or (anchored is not None and anchored >= kept[0]):
            return True
        if not await anchors.claim(self.interval_s):
            return False
        size, note = kept
        token = await request_token(self.url, note.encode(), self.timeout_s)
        await anchors.save(Anchor(size, note, token))
        self.metrics.anchors.labels("anchored").inc()
        return True
