"""How long Python's cycle collector may stop the process: freeze what lives long.

CPython 3.11 keeps every container it tracks (instances, dicts, lists, coroutines ...) in
one of three generations. A pass over the oldest, a *full* pass, walks every tracked object
in the process, and nothing else runs meanwhile: the app's own (modules, routes, scripts:
some 150,000) and every viewer's (about 80: uvicorn's and websockets' protocol objects, the
ASGI task's suspended coroutines, the connection). CPython starts a full pass once the
objects promoted to the oldest generation since the last one exceed a quarter of those that
pass left there (`long_lived_pending > long_lived_total / 4`), so while 5,000 viewers arrive
the heap grows to half a million objects and each full pass over it stops the process for
260-400 ms.

`gc.freeze()` moves every tracked object to a permanent generation that no pass walks, in
constant time. `Pauses` freezes:
- at startup, after a full pass: the app's own objects;
- right after every full pass (a `gc.callbacks` entry, at "stop" of generation 2): what
  survived it was reachable a moment ago, so nothing already garbage is frozen. The next
  full pass walks only what reached the oldest generation since this one, however many
  viewers stay connected; and CPython's quarter rule now counts against that small set.
What a full pass walks is then what the passes over generation 1 promoted since the last
one. By default a full pass waits for 10 of those (the third threshold), some 70,000
objects while viewers arrive (80-110 ms here); `Pauses` makes it wait for 2 (`FULL_AFTER`),
some 15,000 objects, 3-20 ms. So full passes come five times as often, each as short as a
pass over generation 1, and an object is frozen sooner after its birth.

The risk is a leak. An object frozen while alive that later becomes part of an unreachable
cycle is never freed by a pass (reference counting still frees the rest, frozen or not). A
viewer who leaves is such a case: websockets' protocol object and its parser generator
refer to each other, uvicorn's protocol sits in its own scope; some 25 objects, a few KiB, a
departure. `reclaim` bounds it: unfreeze, one full pass over everything (the long pause the
freezing otherwise avoids), and the callback freezes the survivors again. `check` runs it
- when a crowd came and left: at least `crowd` connections were open since the last
  reclaim and at most a quarter of that peak are left (the pass is then short, and few are
  there to wait for it); or else
- once `max_age_s` has passed since the last one: the bound on what a steady churn of
  viewers leaks, at the price of one long pause that often.

`/metrics` shows each pass by generation (`openbid_gc_pause_seconds`), the longest, the
objects frozen (`openbid_gc_frozen_objects`) and the reclaims (`openbid_gc_reclaims_total`;
each is also one of the generation-2 pauses). `OPENBID_GC_FREEZE=0` switches all this off:
stock CPython, the benchmark's "before", or a first step when memory grows unexplained.

Written for CPython 3.11 and 3.12. 3.13's free-threaded build and 3.14's incremental
collector change what a full pass is: measure again (loadtests/bench_pauses.py) there.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import Callable
from typing import Any

from server.metrics import Metrics

__all__ = ["SWITCH", "Pauses"]

SWITCH = "OPENBID_GC_FREEZE"  # "0": no freezing, stock CPython collection
CROWD = 500  # open connections that make a full pass over everything a long one
MAX_AGE_S = 3600.0
CHECK_S = 10.0
OLDEST = 2  # CPython's generations: 0, 1 and 2
FULL_AFTER = 1  # a full pass once more than this many passes over generation 1 came since
_STOCK = gc.get_threshold()  # restored when the last policy stops


class Pauses:
    """The freezing policy of one app; the process has one collector, so several apps in one
    process (the tests) share its effect, and it is undone when the last one stops."""

    def __init__(
        self,
        metrics: Metrics,
        open_count: Callable[[], int],
        *,
        crowd: int = CROWD,
        max_age_s: float = MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.metrics, self.open_count, self.clock = metrics, open_count, clock
        self.crowd, self.max_age_s = crowd, max_age_s
        self.peak = 0  # open connections, at most, since the last reclaim
        self.reclaimed_at = clock()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def started(
        cls, metrics: Metrics, open_count: Callable[[], int], check_s: float = CHECK_S
    ) -> Pauses | None:
        """The policy, started, with its checks every `check_s` in a task of the running
        loop; None when `OPENBID_GC_FREEZE=0`. The caller awaits `stop()` on shutdown."""
        if os.environ.get(SWITCH, "1") == "0":
            return None
        pauses = cls(metrics, open_count)
        pauses.start()
        pauses._task = asyncio.create_task(pauses.run(check_s))
        return pauses

    def start(self) -> None:
        """Freeze what lives now (after a full pass: one pause, at startup), then after
        every full pass, which comes sooner. Call `stop` when done."""
        gc.callbacks.append(self._after_pass)
        gc.set_threshold(*_STOCK[:2], FULL_AFTER)
        _full_passes()

    async def stop(self) -> None:
        """No more freezing by this app; the last one to stop unfreezes the process (and
        the next full pass walks everything again) and restores the collector's thresholds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        gc.callbacks.remove(self._after_pass)
        if not any(isinstance(getattr(c, "__self__", None), Pauses) for c in gc.callbacks):
            gc.unfreeze()
            gc.set_threshold(*_STOCK)

    def _after_pass(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == OLDEST:
            gc.freeze()  # the survivors of a full pass: all reachable a moment ago

    async def run(self, check_s: float) -> None:
        """`check` every `check_s`, until cancelled."""
        while True:
            await asyncio.sleep(check_s)  # a period, not an event: nothing to await instead
            self.check()

    def check(self) -> bool:
        """Reclaim if it is time (see the module's docstring); True if it did."""
        now_open = self.open_count()
        self.peak = max(self.peak, now_open)
        left = self.peak >= self.crowd and now_open <= self.peak // 4
        if left or self.clock() - self.reclaimed_at >= self.max_age_s:
            self.reclaim()
            return True
        return False

    def reclaim(self) -> None:
        """One full pass over everything, frozen or not: frees the cycles that died frozen.
        The pause is as long as without this policy; `check` chooses when."""
        gc.unfreeze()
        _full_passes()
        self.metrics.gc_reclaims.inc()
        self.peak, self.reclaimed_at = self.open_count(), self.clock()


def _full_passes() -> None:
    """A full pass (`Pauses._after_pass` freezes the survivors), and a second over nothing:
    CPython counts the first one's survivors as its oldest generation, and would wait for a
    quarter of them to arrive (a long pass, then) before the next full one."""
    gc.collect()
    gc.collect()
