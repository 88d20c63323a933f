"""What an idle public viewer costs the server: objects the cycle collector tracks and
bytes, per viewer, with a thousand of them on a real server in this process (the viewers
are in a process of their own, `viewers.py`, so the census counts the server's alone).
The mechanism only, not a timing: loadtests/bench_crowd.py measures the RSS."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from server.limits import Limits
from server.pauses import SWITCH
from tests.conftest import admin_client, allow_open_files, serving
from tests.server.helpers import make_lot
from tests.streaming.rooms.viewers import viewers

VIEWERS = 1_000
WARM = 20  # first: the room, the hub's subscription and the caches a first viewer makes
PER_ADDRESS = Limits(public_per_address=2 * VIEWERS, pending_per_address=2 * VIEWERS)
# An idle viewer's tracked objects, 54 when this was written (82 before): the asyncio
# transport, its socket and the selector's key and handle; uvicorn's protocol, its inbox
# and flow control; websockets' protocol with its request, reader and the three generators
# of its parser; the ASGI task, its context and the six coroutines it waits through (the
# server's, the app's, the connection's); the keepalive ping's handle; the connection and
# its session; the bound methods and contexts of the callbacks asyncio keeps.
OBJECTS = 60
# Its bytes as Python allocates them (tracemalloc): 9.7 KB when this was written (17.2
# before). The kernel's socket buffers are not in it. The bound leaves room for what the
# rest of the process allocates meanwhile (11.7 KB in a full run on CI): it is there to
# catch the 17 KB coming back, not to weigh the last kilobyte.
BYTES = 14 * 1024


@pytest.fixture
def open_files() -> None:
    allow_open_files(VIEWERS)


def tracked() -> int:
    """The objects the collector tracks, frozen ones too (another app of this process may
    have frozen them: server/pauses.py's freezing is process-wide)."""
    gc.unfreeze()
    gc.collect()  # a policy's callback may freeze what survives it
    gc.unfreeze()
    return len(gc.get_objects())


@pytest.mark.usefixtures("open_files")
async def test_an_idle_viewer_keeps_few_objects_and_bytes(
    valkey_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SWITCH, "0")  # nothing frozen: the census sees every object
    async with serving(valkey_url, PER_ADDRESS) as base, admin_client(base) as admin:
        url = base.replace("http://", "ws://") + f"/ws/lots/{await make_lot(admin)}"
        async with viewers(url, WARM):
            before = tracked()
            tracemalloc.start()
            try:
                async with viewers(url, VIEWERS):
                    objects = (tracked() - before) / VIEWERS
                    size = tracemalloc.get_traced_memory()[0] / VIEWERS
            finally:
                tracemalloc.stop()
    assert objects < OBJECTS, f"{objects:.1f} tracked objects an idle viewer"
    assert size < BYTES, f"{size:.0f} bytes an idle viewer"
