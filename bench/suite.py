"""Benchmark: wall time of the fast suite, serial and in parallel workers, and runner memory.

Runs ``xmtpd-e2e run --suite fast`` as a user does, ``--repeat`` times per worker count, and
records the run's wall time, every scenario's duration and the peak resident memory of the
runner process itself (the Python process driving the scenarios and their traffic threads; not
the xmtpd processes it starts).  The 1-minute load average before and after each run is recorded
with it: on a shared machine a wall time means little without it.  So is where the CPU went
(:mod:`machine_cpu`): the machine's busy CPU-seconds and fraction, and per group of processes
(framework, xmtpd, Postgres, Docker, the other services).

    .venv/bin/python bench/suite.py --runtime local --parallel 1,2 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine_cpu import CpuAccount
from recording import save, summarize
from xmtpd_e2e.runtime.registry import RUNTIMES

# The runner, with its own peak RSS reported on exit (ru_maxrss is KiB on Linux).
_WRAPPED_CLI = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    'f"\\nRUNNER_MAXRSS_KIB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n"))\n'
    "from xmtpd_e2e.cli.main import main\n"
    "sys.argv = ['xmtpd-e2e', *sys.argv[1:]]\n"
    "main()\n"
)


def run_suite(runtime: str, parallel: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "result.json"
        command = [
            sys.executable,
            "-c",
            _WRAPPED_CLI,
            "run",
            "--suite",
            "fast",
            "--runtime",
            runtime,
            "--image-set",
            "local",
            "--parallel",
            str(parallel),
            "--artifacts",
            f"{scratch}/artifacts",
            "--output-format",
            "json",
            "--output-file",
            str(output),
        ]
        load_before = os.getloadavg()[0]
        began = time.monotonic()
        with CpuAccount() as cpu:
            completed = subprocess.run(command, capture_output=True, text=True)
        wall = time.monotonic() - began
        result = json.loads(output.read_text())
    rss = [int(line.split()[1]) for line in completed.stderr.splitlines() if line.startswith("RUNNER_MAXRSS_KIB")]
    return {
        "wall_seconds": wall,
        "passed": result["summary"].get("PASS"),
        "total": len(result["scenarios"]),
        "scenario_seconds": {s["name"]: round(s["duration_seconds"], 2) for s in result["scenarios"]},
        "not_passed": {
            s["name"]: {"status": s["status"], "error": (s.get("error") or "")[:1500]}
            for s in result["scenarios"]
            if s["status"] != "PASS"
        },
        "runner_peak_rss_mib": round(rss[-1] / 1024, 1) if rss else None,
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "cpu": cpu.summary(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=RUNTIMES.names(), required=True)
    parser.add_argument("--parallel", default="1,2")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    results = []
    for workers in (int(p) for p in args.parallel.split(",")):
        runs = [run_suite(args.runtime, workers) for _ in range(args.repeat)]
        walls = [r["wall_seconds"] for r in runs]
        entry: dict[str, Any] = {"parallel": workers, "wall_seconds": summarize(walls, 1), "runs": runs}
        if workers == 1:
            entry["runner_peak_rss_mib"] = summarize(
                [r["runner_peak_rss_mib"] for r in runs if r["runner_peak_rss_mib"]], 1
            )
        results.append(entry)
        print(
            f"{args.runtime} --parallel {workers}: fast suite in {entry['wall_seconds']['median']:.0f}s, "
            f"passed {[r['passed'] for r in runs]} of {runs[0]['total']}; "
            f"machine busy {[r['cpu']['machine_busy_fraction'] for r in runs]}",
            flush=True,
        )
    path = save(f"suite-{args.runtime}", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
