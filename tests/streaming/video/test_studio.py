"""The studio's shutdown ends even when a peer connection never finishes closing (aiortc's
`pc.close()` has been seen to hang), so the server goes on to stop its Valkey."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiortc import RTCPeerConnection

import streaming.video.studio
from streaming.video.studio import Studio


class Stuck(RTCPeerConnection):
    """A real peer connection whose close never returns."""

    async def close(self) -> None:
        await asyncio.Event().wait()


async def test_a_peer_that_never_closes_does_not_hold_the_shutdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(streaming.video.studio, "CLOSE_S", 0.05)
    studio = Studio(tmp_path)
    stuck, fine = Stuck(), RTCPeerConnection()
    studio.peers |= {stuck, fine}
    await asyncio.wait_for(studio.close(), 5)
    assert studio.peers == set()
    assert fine.connectionState == "closed"
    assert "did not close" in caplog.text
    await RTCPeerConnection.close(stuck)
