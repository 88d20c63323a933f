"""server/pauses.py: after a full pass of the cycle collector, what thousands of idle viewers
keep is frozen, so the next full pass walks a handful of objects, not theirs; and the
freezing leaks no cycle for good. The mechanism only: the pauses' lengths are measured by
loadtests/bench_pauses.py, not here (the test machines are noisy)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from typing import Any

import msgpack
import pytest
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect
from prometheus_client.parser import text_string_to_metric_families

from server.limits import Limits
from server.metrics import Metrics
from server.pauses import SWITCH, Pauses
from tests.conftest import TIMEOUT, admin_client, allow_open_files, serving
from tests.server.helpers import make_lot

VIEWERS = 2_000
PER_ADDRESS = Limits(public_per_address=VIEWERS, pending_per_address=VIEWERS)


class Viewer(WSListener):
    """A cheap public viewer (picows: no task, no queue): says hello, counts its welcome."""

    def __init__(self, welcomed: list[int], all_in: asyncio.Event, of: int = VIEWERS) -> None:
        self.welcomed, self.all_in, self.of = welcomed, all_in, of

    def on_ws_connected(self, transport: WSTransport) -> None:
        transport.send(WSMsgType.BINARY, msgpack.packb({"type": "hello"}))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.BINARY:
            return
        if msgpack.unpackb(frame.get_payload_as_bytes()).get("type") == "welcome":
            self.welcomed[0] += 1
            if self.welcomed[0] == self.of:
                self.all_in.set()


@pytest.fixture
def open_files() -> None:
    allow_open_files(VIEWERS)


def walked() -> int:
    """What a full pass would walk now, after one has run (and the policy froze)."""
    gc.collect()
    return len(gc.get_objects())


async def frozen_on_metrics(base: str) -> float:
    async with admin_client(base) as admin:
        text = (await admin.get("/metrics")).text
    (family,) = (
        f for f in text_string_to_metric_families(text) if f.name.endswith("frozen_objects")
    )
    return family.samples[0].value


@pytest.mark.usefixtures("open_files")
async def test_idle_viewers_are_frozen_after_a_full_pass(valkey_url: str) -> None:
    async with serving(valkey_url, PER_ADDRESS) as base, admin_client(base) as admin:
        lot = await make_lot(admin)
        before, frozen_before = walked(), gc.get_freeze_count()
        welcomed, all_in = [0], asyncio.Event()
        url = base.replace("http://", "ws://") + f"/ws/lots/{lot}"
        headers = {"Sec-WebSocket-Protocol": "openbid.msgpack.v1"}
        transports = []
        for _ in range(0, VIEWERS, 100):
            made = await asyncio.gather(*(
                ws_connect(lambda: Viewer(welcomed, all_in), url, extra_headers=headers)
                for _ in range(100)
            ))  # fmt: skip
            transports += [transport for transport, _ in made]
        try:
            async with asyncio.timeout(TIMEOUT * 3):
                await all_in.wait()
            grown = walked() - before
            frozen = gc.get_freeze_count() - frozen_before
            # unfrozen, each viewer would keep some 80 objects here and 20 in the client
            assert grown < VIEWERS // 10, f"{grown / VIEWERS:.1f} objects a viewer walked"
            assert frozen > 50 * VIEWERS, f"{frozen / VIEWERS:.1f} objects a viewer frozen"
            assert await frozen_on_metrics(base) >= frozen
        finally:
            for transport in transports:
                transport.disconnect()


@pytest.fixture
async def pauses() -> AsyncIterator[Pauses]:
    policy = Pauses(Metrics(), lambda: 0)
    policy.start()
    yield policy
    await policy.stop()


class Cycle:
    def __init__(self) -> None:
        self.me = self


def cycle() -> weakref.ref[Cycle]:
    """A weak reference to a cycle no one else holds."""
    return weakref.ref(Cycle())


def test_a_cycle_made_after_a_freeze_is_still_collected(pauses: Pauses) -> None:
    gc.collect()
    dropped = cycle()
    gc.collect()
    assert dropped() is None


def test_a_cycle_that_dies_frozen_waits_for_a_reclaim(pauses: Pauses) -> None:
    held = Cycle()
    gone = weakref.ref(held)
    gc.collect()  # it survives a full pass: frozen
    del held
    gc.collect()
    assert gone() is not None  # the price of freezing
    pauses.reclaim()
    assert gone() is None
    assert pauses.metrics.registry.get_sample_value("openbid_gc_reclaims_total") == 1


class Room:
    open = 0
    now = 0.0


@pytest.mark.parametrize(
    ("steps", "reclaims"),
    [
        ([(0, 0.0), (400, 10.0), (600, 20.0), (600, 30.0), (150, 40.0)], [4]),  # came and went
        ([(0, 0.0), (400, 10.0), (100, 20.0)], []),  # never a crowd: pauses short anyway
        ([(600, 0.0), (160, 10.0), (150, 20.0), (30, 30.0)], [2]),  # the peak starts over
        ([(600, 0.0), (600, 3599.0), (600, 3600.0), (600, 7199.0)], [2]),  # a steady crowd
    ],
)
def test_a_reclaim_when_a_crowd_left_or_an_hour_went_by(
    pauses: Pauses, steps: list[tuple[int, float]], reclaims: list[int]
) -> None:
    room = Room()
    policy = Pauses(Metrics(), lambda: room.open, crowd=500, clock=lambda: room.now)
    done = []
    for i, (room.open, room.now) in enumerate(steps):
        if policy.check():
            done.append(i)
    assert done == reclaims


async def test_the_switch_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SWITCH, "0")
    assert Pauses.started(Metrics(), lambda: 0) is None


DEPARTING = 300


@pytest.mark.usefixtures("open_files")
async def test_a_departing_viewer_leaves_few_cycles_behind(
    valkey_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a viewer who left leaves for the collector (frozen, for a reclaim): the server
    breaks its protocol's cycles (streaming/rooms/raw.py) as the connection is lost; some
    25 objects a departure otherwise, here at most the asyncio transport's own cycle."""
    monkeypatch.setenv(SWITCH, "0")  # stock collector: count what it finds, frozen or not
    apps: list[Any] = []
    async with serving(valkey_url, PER_ADDRESS, apps=apps) as base, admin_client(base) as admin:
        lot = await make_lot(admin)
        welcomed, all_in = [0], asyncio.Event()
        url = base.replace("http://", "ws://") + f"/ws/lots/{lot}"
        headers = {"Sec-WebSocket-Protocol": "openbid.msgpack.v1"}
        made = await asyncio.gather(*(
            ws_connect(lambda: Viewer(welcomed, all_in, DEPARTING), url, extra_headers=headers)
            for _ in range(DEPARTING)
        ))  # fmt: skip
        async with asyncio.timeout(TIMEOUT * 3):
            await all_in.wait()
        doors = apps[0].state.resources.rooms.doors
        gc.collect()
        gc.disable()
        try:
            for transport, _ in made:
                transport.disconnect()
            del made
            async with asyncio.timeout(TIMEOUT * 3):
                while doors.open:
                    await asyncio.sleep(0.01)  # the server's own count: no event to await
            left = gc.collect()
        finally:
            gc.enable()
    assert left < 12 * DEPARTING, f"{left / DEPARTING:.1f} objects a departure"
