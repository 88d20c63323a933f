"""Every benchmark in one run, and one report of every performance goal beside its baseline.

    python loadtests/report.py [--out bench-results] [--quick]      (make bench)

Runs, one after the other on this machine, each against its baseline in the same run:
- `bench_bidbook.py`: decisions per second on one hot lot beside Valkey's ceiling (a trivial
  EVALSHA), and p50/p99 at 5,000 bids/s beside the same for the trivial call;
- `bench_fanout.py`: fan-out latency, CPU per message and memory per idle viewer at 1,000 and
  5,000 viewers, beside python-socketio;
- `bench_webrtc.py`: livestream viewers per core and capture→decode latency, beside aiortc's
  `MediaRelay`;
- `bench_crowd.py`: 20,000 public viewers on `--workers 2` (fan-out latency, CPU per message,
  memory per idle viewer, longest collector pause, deliveries missing), beside the bare
  `websockets` floor and python-socketio on two processes each.
Writes under `--out`: `report.md` (the machine, the versions, the commands, the table of goals),
three PNG plots, each benchmark's JSON and its printed output. `--quick` runs tiny sizes to
check the pipeline end to end; its numbers mean nothing. Exits 1 if a benchmark failed (the
report is still written, its goals marked not measured).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests import plots  # noqa: E402
from loadtests.machine import describe  # noqa: E402

BENCHMARKS: dict[str, dict[bool, list[str]]] = {  # name -> {quick: arguments}
    "bidbook": {False: ["--seconds", "3", "--runs", "3"],
                True: ["--seconds", "0.5", "--runs", "1", "--fsync", "always"]},
    "fanout": {False: ["--viewers", "1000", "5000", "--seconds", "10"],
               True: ["--viewers", "20", "50", "--seconds", "1"]},
    "webrtc": {False: ["--viewers", "60", "--baseline-viewers", "6", "--seconds", "15"],
               True: ["--viewers", "2", "--baseline-viewers", "1", "--seconds", "3"]},
    "crowd": {False: ["--viewers", "20000", "--workers", "2", "--generators", "4"],
              True: ["--viewers", "200", "--workers", "2", "--generators", "2", "--seconds", "2",
                     "--max-busy", "1", "--servers", "openbid"]},
}  # fmt: skip


PLOTS = {  # the benchmark -> its plot
    "fanout": ("latency_against_viewers.png", plots.latency_against_viewers),
    "bidbook": ("decisions_per_second.png", plots.decisions_per_second),
    "webrtc": ("viewers_per_core.png", plots.viewers_per_core),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Goal:
    """One goal of an earlier issue, measured: OpenBid's number beside the baseline's."""

    issue: int
    what: str
    measured: str
    baseline: str
    target: str
    met: bool | None  # None: not measured


def run(name: str, quick: bool, out: Path) -> tuple[str, dict[str, Any] | None]:
    """Run one benchmark, echoing and keeping its output; return its command and results."""
    script = f"loadtests/bench_{name}.py"
    kept = os.path.relpath(out / f"{name}.json", ROOT)
    command = ["python", script, *BENCHMARKS[name][quick], "--json", kept]
    shown = shlex.join(command)
    print(f"\n$ {shown}", flush=True)
    (out / f"{name}.json").unlink(missing_ok=True)  # never report an earlier run's numbers
    with open(out / f"{name}.txt", "w") as log:
        process = subprocess.Popen([sys.executable, *command[1:]], cwd=ROOT, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            log.write(line)
    if process.wait() != 0:
        print(f"{name}: exit {process.returncode}", file=sys.stderr)
        return shown, None
    results: dict[str, Any] = json.loads((out / f"{name}.json").read_text())
    return shown, results


def bidbook_goals(r: dict[str, Any] | None) -> list[Goal]:
    if r is None:
        return [_missing(2, "bid book: decisions/s and p99 at 5,000 bids/s")]
    goals = []
    for aof, m in r.items():
        setting = f"appendfsync {aof}" if aof != "off" else "no AOF"
        goals.append(Goal(
            issue=2, what=f"decisions/s on one hot lot ({setting})",
            measured=f"{m['decisions_per_s']:,.0f} ({m['ratio']:.2f}×)",
            baseline=f"{m['ceiling_per_s']:,.0f} ceiling", target="≥ 0.5× ceiling",
            met=m["ratio"] >= 0.5,
        ))  # fmt: skip
        goals.append(Goal(
            issue=2, what=f"p99 decision latency at 5,000 bids/s ({setting})",
            measured=f"{m['p99_ms']:.2f} ms (p50 {m['p50_ms']:.2f})",
            baseline=f"{m['ceiling_p99_ms']:.2f} ms trivial call", target="< 5 ms",
            met=m["p99_ms"] < 5,
        ))  # fmt: skip
    return goals


def fanout_goals(r: dict[str, Any] | None) -> list[Goal]:
    if r is None:
        return [_missing(3, "fan-out: latency, µs per message, KiB per idle viewer")]
    counts = sorted({int(k.split("-")[1]) for k in r})
    top, base = r[f"openbid-{counts[-1]}"], r[f"socketio-{counts[-1]}"]
    at = f"at {counts[-1]:,} viewers"
    goals = [
        Goal(issue=3, what=f"fan-out p99 {at}", measured=f"{top['p99_ms']:.1f} ms",
             baseline=f"{base['p99_ms']:,.1f} ms", target="≤ 100 ms", met=top["p99_ms"] <= 100),
        Goal(issue=3, what=f"server CPU per delivered message {at}",
             measured=f"{top['us_per_message']:.1f} µs",
             baseline=f"{base['us_per_message']:.1f} µs", target="≤ 15 µs",
             met=top["us_per_message"] <= 15),
        Goal(issue=3, what=f"memory per idle viewer {at}",
             measured=f"{top['kib_per_idle_conn']:.1f} KiB",
             baseline=f"{base['kib_per_idle_conn']:.1f} KiB", target="≤ 30 KiB",
             met=top["kib_per_idle_conn"] <= 30),
    ]  # fmt: skip
    for n in counts:
        ours, theirs = r[f"openbid-{n}"]["p99_ms"], r[f"socketio-{n}"]["p99_ms"]
        goals.append(Goal(
            issue=3, what=f"p99 below python-socketio's at {n:,} viewers",
            measured=f"{ours:.1f} ms ({theirs / ours:,.1f}× lower)",
            baseline=f"{theirs:,.1f} ms", target="≥ 3× lower", met=theirs >= 3 * ours,
        ))  # fmt: skip
    return goals


def webrtc_goals(r: dict[str, Any] | None) -> list[Goal]:
    if r is None:
        return [_missing(4, "livestream: viewers per core and p95 capture→decode")]
    ours, relay = r["openbid"], r["relay"]
    return [
        Goal(issue=4, what=f"livestream viewers per core ({ours['viewers']} vs "
                           f"{relay['viewers']} viewers, 360p)",
             measured=f"{ours['per_core']:.1f} ({r['ratio']:.1f}×)",
             baseline=f"{relay['per_core']:.1f} aiortc relay", target="≥ 10× the relay",
             met=r["ratio"] >= 10),
        Goal(issue=4, what="p95 capture → decode at a viewer", measured=f"{ours['p95_ms']:.0f} ms",
             baseline=f"{relay['p95_ms']:.0f} ms", target="< 500 ms", met=ours["p95_ms"] < 500),
    ]  # fmt: skip


def crowd_goals(r: dict[str, Any] | None) -> list[Goal]:
    """Issue 18: the crowd on two workers, judged on memory and on nothing missing."""
    if not r or not r.get("openbid"):
        return [_missing(18, "20,000 viewers on --workers 2: memory per idle viewer, missing")]
    ours, floor, sio = (_medians(r.get(k, [])) for k in ("openbid", "floor", "socketio"))
    n = f"{r['openbid'][0]['viewers']:,} viewers, 2 workers"
    kib, missing = ours["kib_per_idle_viewer"], ours["missing"]
    return [
        Goal(issue=18, what=f"memory per idle viewer ({n})", measured=f"{kib:.1f} KiB",
             baseline=f"floor {floor.get('kib_per_idle_viewer', float('nan')):.1f}, socketio "
                      f"{sio.get('kib_per_idle_viewer', float('nan')):.1f} KiB",
             target="≤ 16 KiB", met=kib <= 16),
        Goal(issue=18, what=f"deliveries missing ({n})", measured=f"{missing:,.0f}",
             baseline=f"floor {floor.get('missing', float('nan')):,.0f}, socketio "
                      f"{sio.get('missing', float('nan')):,.0f}", target="0", met=missing == 0),
    ]  # fmt: skip


def crowd_also(r: dict[str, Any] | None) -> list[str]:
    """The crowd's numbers no goal judges: latency, CPU, pauses, beside the baselines'."""
    if not r:
        return []
    rows = []
    for kind, runs in r.items():
        if runs:
            m = _medians(runs)
            rows.append(f"- {kind}, {runs[0]['viewers']:,} viewers on two processes (median of "
                        f"{len(runs)}): p50 {m['p50_ms']:.0f} ms, p99 {m['p99_ms']:.0f} ms, "
                        f"{m['us_per_message']:.1f} µs CPU per message, longest collector "
                        f"pause {m['gc_longest_ms']:.0f} ms")  # fmt: skip
    return rows


def _medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("p50_ms", "p99_ms", "us_per_message", "kib_per_idle_viewer", "gc_longest_ms",
            "missing")  # fmt: skip
    return {k: statistics.median(run[k] for run in runs) for k in keys} if runs else {}


def _missing(issue: int, what: str) -> Goal:
    return Goal(issue=issue, what=what, measured="not measured (the benchmark failed)",
                baseline="", target="", met=None)  # fmt: skip


def table(goals: list[Goal]) -> str:
    verdict = {True: "met", False: "**not met**", None: "—"}
    rows = ["| issue | goal | OpenBid | baseline (same run) | target | |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    rows += [f"| #{g.issue} | {g.what} | {g.measured} | {g.baseline} | {g.target} | "
             f"{verdict[g.met]} |" for g in goals]  # fmt: skip
    return "\n".join(rows)


def unjudged(fanout: dict[str, Any] | None) -> list[str]:
    """Numbers no issue set a goal for that a reader should still see, as Markdown bullets."""
    counts = sorted(int(k.split("-")[1]) for k in fanout or {} if k.startswith("openbid-"))
    return [f"- OpenBid's longest pause of Python's cycle collector, {n:,} viewers arriving: "
            f"{fanout[f'openbid-{n}']['gc_longest_ms']:.0f} ms (the whole process stops; "
            "see docs/rooms.md)" for n in counts if fanout]  # fmt: skip


def markdown(goals: list[Goal], also: list[str], commands: list[str], machine: str,
             pngs: list[str], quick: bool, took: float) -> str:  # fmt: skip
    itself = shlex.join(["python", "loadtests/report.py", *sys.argv[1:]])
    parts = [
        "# OpenBid benchmark report",
        "",
        "> `--quick` run: tiny sizes that check the pipeline; the numbers mean nothing."
        if quick else "Every goal of the earlier issues, measured in one run beside its "
        "baseline on the same machine (the load generators share it).",
        "",
        "## Goals",
        "",
        table(goals),
        "",
        *(["Measured too, with no goal yet:", "", *also, ""] if also else []),
        *(f"![{p}]({p})" for p in pngs),
        "",
        "## Machine and versions",
        "",
        machine,
        "",
        f"## Commands (from the repository root, {took / 60:.1f} minutes in all)",
        "",
        "```sh",
        f"{itself}   # make bench: all of the following",
        *commands,
        "```",
        "",
        "Each benchmark's printed table is beside this file (`NAME.txt`), its numbers in "
        "`NAME.json`.",
    ]  # fmt: skip
    return "\n".join(parts) + "\n"


def draw(results: dict[str, dict[str, Any] | None], out: Path) -> list[str]:
    """The plots of the benchmarks that ran; their file names."""
    drawn = []
    for name, (png, plot) in PLOTS.items():
        if (r := results[name]) is not None:
            plot(r, out / png)
            drawn.append(png)
    return drawn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check the pipeline")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started, machine = time.monotonic(), describe()  # the machine as it was at the start
    commands, results = [], {}
    for name in BENCHMARKS:
        command, results[name] = run(name, args.quick, args.out)
        commands.append(command)
    goals = [*bidbook_goals(results["bidbook"]), *fanout_goals(results["fanout"]),
             *webrtc_goals(results["webrtc"]), *crowd_goals(results["crowd"])]  # fmt: skip
    also = unjudged(results["fanout"]) + crowd_also(results["crowd"])
    text = markdown(goals, also, commands, machine,
                    draw(results, args.out), args.quick, time.monotonic() - started)  # fmt: skip
    (args.out / "report.md").write_text(text)
    print(f"\n{table(goals)}\n\nwritten: {args.out / 'report.md'}")
    return 0 if all(r is not None for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
