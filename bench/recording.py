"""Where benchmark results go and what they record about the machine that produced them.

Every benchmark writes ``bench/results/<name>-<runtime>.json`` holding its samples, their
median and this machine description, so a number is never quoted without its context.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    try:
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=RESULTS.parent
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(memory_kib / 2**20, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "commit": commit,
        # The machine may be shared: a number measured under load must say so.
        "load_average_1_5_15_min": [round(load, 2) for load in os.getloadavg()],
    }


def summarize(samples: list[float], digits: int = 3) -> dict[str, Any]:
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "samples": [round(s, digits) for s in samples],
    }


def previous(name: str) -> dict[str, Any] | None:
    """The results a benchmark recorded last time under ``name``, to continue a long count."""
    path = RESULTS / f"{name}.json"
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    results = report.get("results")
    return results if isinstance(results, dict) else None


def session(runs: int) -> dict[str, Any]:
    """One sitting of a long count: when, on which commit, under which load, how many runs."""
    described = machine()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": described["commit"],
        "load_average_1_5_15_min": described["load_average_1_5_15_min"],
        "runs": runs,
    }


def save(name: str, command: str, results: Any) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    report = {
        "benchmark": name,
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "results": results,
    }
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path
