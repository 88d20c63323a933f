"""The benchmark report: `--quick` runs every benchmark end to end at tiny sizes and writes
the report (its numbers are not judged); the goals table says met only where a number meets
its goal."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from loadtests.report import BENCHMARKS, ROOT, fanout_goals, webrtc_goals

PNG = b"\x89PNG\r\n\x1a\n"
QUICK_S = 300  # three benchmarks at tiny sizes, each starting its servers


async def test_a_quick_run_writes_the_report_with_every_goal_measured(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "loadtests" / "report.py"), "--quick", "--out", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    async with asyncio.timeout(QUICK_S):
        out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    report = (tmp_path / "report.md").read_text()
    for issue in ("#2", "#3", "#4"):
        assert f"| {issue} |" in report
    assert "not measured" not in report
    assert "cycle collector" in report  # the pauses measured beside the goals
    for name in BENCHMARKS:  # the command that reproduces it, and its numbers beside
        assert f"python loadtests/bench_{name}.py" in report
        assert (tmp_path / f"{name}.json").stat().st_size > 0
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) == 3 and all(p.read_bytes().startswith(PNG) for p in pngs)
    assert all(f"]({p.name})" in report for p in pngs)


def fanout(ours_p99: float, theirs_p99: float) -> dict[str, dict[str, float]]:
    row = {"us_per_message": 10.0, "kib_per_idle_conn": 25.0}
    return {"openbid-5000": row | {"p99_ms": ours_p99},
            "socketio-5000": row | {"p99_ms": theirs_p99}}  # fmt: skip


def test_the_socketio_goal_needs_a_p99_three_times_lower() -> None:
    ratio = {g.what: g.met for g in fanout_goals(fanout(30.0, 90.0))}
    assert ratio["p99 below python-socketio's at 5,000 viewers"] is True
    ratio = {g.what: g.met for g in fanout_goals(fanout(30.0, 89.0))}
    assert ratio["p99 below python-socketio's at 5,000 viewers"] is False
    assert {g.what: g.met for g in fanout_goals(fanout(101.0, 900.0))}[
        "fan-out p99 at 5,000 viewers"
    ] is False


def test_a_failed_benchmark_is_reported_not_measured() -> None:
    (goal,) = webrtc_goals(None)
    assert goal.met is None and "not measured" in goal.measured
