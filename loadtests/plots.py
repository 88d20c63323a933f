"""The benchmark report's three plots, drawn from the benchmarks' JSON with matplotlib.

Each function takes one benchmark's results (as its `--json` wrote them) and the path of the
PNG to write; each draws OpenBid beside the baseline of the same run, with the goal marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt

__all__ = ["decisions_per_second", "latency_against_viewers", "viewers_per_core"]

OPENBID, BASELINE, GOAL = "#c62828", "#78909c", "#2e7d32"


def latency_against_viewers(fanout: dict[str, Any], path: Path) -> None:
    """Fan-out latency, p50 and p99, against the number of viewers, both servers."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for server, colour in (("openbid", OPENBID), ("socketio", BASELINE)):
        counts = sorted(int(k.split("-")[1]) for k in fanout if k.startswith(f"{server}-"))
        for q, style in (("p50", ":"), ("p99", "-")):
            values = [fanout[f"{server}-{n}"][f"{q}_ms"] for n in counts]
            label = f"{'OpenBid' if server == 'openbid' else 'python-socketio'} {q}"
            ax.plot(counts, values, style, marker="o", color=colour, label=label)
    ax.set_xticks(sorted({int(k.split("-")[1]) for k in fanout}))
    ax.axhline(100, color=GOAL, linestyle="--", linewidth=1, label="goal: p99 ≤ 100 ms")
    ax.set(xlabel="viewers on one server process", ylabel="event ts → receipt (ms)",
           yscale="log", title="Fan-out latency against viewers")  # fmt: skip
    ax.legend(fontsize="small")
    _save(fig, path)


def decisions_per_second(bidbook: dict[str, Any], path: Path) -> None:
    """Decisions per second on one hot lot beside the trivial-EVALSHA ceiling, per AOF."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    settings = list(bidbook)
    xs = range(len(settings))
    ceiling = [bidbook[s]["ceiling_per_s"] for s in settings]
    book = [bidbook[s]["decisions_per_s"] for s in settings]
    ax.bar([x - 0.2 for x in xs], ceiling, 0.4, color=BASELINE, label="ceiling (trivial EVALSHA)")
    bars = ax.bar([x + 0.2 for x in xs], book, 0.4, color=OPENBID, label="bid book decisions")
    for bar, s in zip(bars, settings, strict=True):
        ax.annotate(f"{bidbook[s]['ratio']:.2f}×", (bar.get_x() + bar.get_width() / 2,
                    bar.get_height()), ha="center", va="bottom", fontsize="small")  # fmt: skip
    ax.hlines([c / 2 for c in ceiling], [x - 0.4 for x in xs], [x + 0.4 for x in xs],
              colors=GOAL, linestyles="--", label="goal: ½ the ceiling")  # fmt: skip
    ax.set_xticks(list(xs), [f"appendfsync {s}" if s != "off" else "no AOF" for s in settings])
    ax.set(ylabel="per second", title="Decisions per second on one hot lot")
    ax.legend(fontsize="small", loc="lower right")
    _save(fig, path)


def viewers_per_core(webrtc: dict[str, Any], path: Path) -> None:
    """Livestream viewers per core: OpenBid's forwarding beside aiortc's relay."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    names = ["OpenBid forwarding", "aiortc MediaRelay"]
    values = [webrtc["openbid"]["per_core"], webrtc["relay"]["per_core"]]
    ax.bar(names, values, color=[OPENBID, BASELINE])
    ax.axhline(10 * values[1], color=GOAL, linestyle="--", linewidth=1,
               label="goal: 10× the relay")  # fmt: skip
    ax.annotate(f"{webrtc['ratio']:.1f}×", (0, values[0]), ha="center", va="bottom")
    ax.set(ylabel="viewers per core (360p, 30 fps)", title="Livestream viewers per core")
    ax.legend(fontsize="small")
    _save(fig, path)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
