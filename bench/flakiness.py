"""Reliability: the fast suite run back to back, counting every scenario's outcomes.

A scenario that fails once in twenty runs on a quiet machine is a bug (in xmtpd or here) to
chase, not noise to retry; this records how often each one passed, with the error of every
failure, so that chase can start from evidence.

    .venv/bin/python bench/flakiness.py --runtime local --runs 10 --parallel 2
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from typing import Any

from recording import save
from suite import run_suite
from xmtpd_e2e.runtime.registry import RUNTIMES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=RUNTIMES.names(), required=True)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    failures: list[dict[str, Any]] = []
    walls = []
    for index in range(args.runs):
        run = run_suite(args.runtime, args.parallel)
        walls.append(round(run["wall_seconds"], 1))
        for name in run["scenario_seconds"]:
            outcome = run["not_passed"].get(name)
            outcomes[name][outcome["status"] if outcome else "PASS"] += 1
            if outcome:
                failures.append({"run": index, "scenario": name, **outcome})
        bad = sum(1 for f in failures if f["run"] == index)
        print(f"{args.runtime} run {index + 1}/{args.runs}: {bad} not passed, {walls[-1]}s", flush=True)
    results = {
        "runs": args.runs,
        "parallel": args.parallel,
        "wall_seconds": walls,
        "outcomes": {name: dict(counts) for name, counts in sorted(outcomes.items())},
        "failures": failures,
    }
    path = save(f"flakiness-{args.runtime}", " ".join(["python", *sys.argv]), results)
    print(f"{len(failures)} non-passing outcome(s) in {args.runs} runs; recorded in {path}")


if __name__ == "__main__":
    main()
