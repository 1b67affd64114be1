"""Benchmark: how soon ``xmtpd-e2e list`` and ``run`` reach their first work (target: 0.5 s).

* ``list``: wall time of the whole command (its work is reading the catalogue and printing it);
* ``run``: seconds from starting the command until the runner announces the first scenario
  (its ``▶ <name>`` line on stderr: options read, scenarios chosen, run settings resolved),
  and the whole run's wall time beside it;
* the import time ``python -X importtime`` reports for ``list`` (the sum of top-level imports);
* the CPU seconds a new interpreter spends importing what a ``--parallel`` worker needs (what the
  fork server imports once per run instead of once per scenario).

Interleaved ``--repeat`` times; the 1-minute load average is recorded with each sample, since
the machine may be shared.

    .venv/bin/python bench/cli_start.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from recording import save, summarize

CLI = [sys.executable, "-m", "xmtpd_e2e.cli.main"]


def list_seconds() -> float:
    began = time.monotonic()
    subprocess.run([*CLI, "list"], check=True, capture_output=True)
    return time.monotonic() - began


def run_seconds(test: str, runtime: str, artifacts: Path) -> tuple[float, float, bool]:
    """Seconds until the ``▶`` line, seconds until exit, and whether the run passed."""
    command = [*CLI, "run", "--test", test, "--runtime", runtime, "--artifacts", str(artifacts)]
    began = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    first = float("nan")
    for raw in process.stderr:
        if "▶" in raw.decode(errors="replace") and first != first:
            first = time.monotonic() - began
    return first, time.monotonic() - began, process.wait() == 0


def import_microseconds() -> int:
    """Sum of the top-level imports' cumulative times while ``list`` runs."""
    result = subprocess.run([sys.executable, "-X", "importtime", *CLI[1:], "list"], capture_output=True, text=True)
    total = 0
    for line in result.stderr.splitlines():
        fields = line.split("|")
        if len(fields) == 3 and fields[0].startswith("import time:") and not fields[2].startswith("  "):
            try:
                total += int(fields[1])
            except ValueError:
                continue
    return total


# The fork server's own preload, so the number follows what it imports.
_WORKER_IMPORTS = (
    "import resource\n"
    "from xmtpd_e2e.runner.forkserver import _prepare\n"
    "_prepare()\n"
    "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "print(usage.ru_utime + usage.ru_stime)\n"
)


def worker_import_cpu_seconds() -> float:
    completed = subprocess.run([sys.executable, "-c", _WORKER_IMPORTS], check=True, capture_output=True, text=True)
    return float(completed.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--test", default="smoke")
    parser.add_argument("--runtime", default="local")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {
        "list": [],
        "run_first_work": [],
        "run_total": [],
        "list_imports": [],
        "worker_imports_cpu": [],
    }
    loads: list[float] = []
    failed_runs = 0
    artifacts = Path(os.environ.get("TMPDIR", "/tmp")) / "cli-start-artifacts"
    for _ in range(args.repeat):
        loads.append(round(os.getloadavg()[0], 2))
        samples["list"].append(list_seconds())
        samples["list_imports"].append(import_microseconds() / 1e6)
        samples["worker_imports_cpu"].append(worker_import_cpu_seconds())
        first, total, passed = run_seconds(args.test, args.runtime, artifacts)
        samples["run_first_work"].append(first)
        samples["run_total"].append(total)
        failed_runs += 0 if passed else 1
    results: dict[str, Any] = {
        "seconds": {name: summarize(values, 3) for name, values in samples.items()},
        "run": {"test": args.test, "runtime": args.runtime, "failed": failed_runs},
        "load_average_1min": loads,
    }
    for name, stats in results["seconds"].items():
        print(f"{name}: median {stats['median']:.3f} s")
    path = save("cli-start", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
