"""Reliability of chosen scenarios run side by side, many times: pass counts and every error text.

Runs ``xmtpd-e2e run --test A,B --parallel N`` as a user does, ``--runs`` times, and records
after every run (so an interrupted recording keeps what it has): each scenario's outcome and
duration, the full error text of every one that did not pass, and where its artifacts were kept.

    .venv/bin/python bench/scenario_flakiness.py --runtime local --tests chaos-connection-reset,chaos-compound-fault \
        --runs 100 --parallel 2 --name connection-reset-flakiness --keep-artifacts /tmp/cr-artifacts
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from recording import save, summarize


def run_once(runtime: str, tests: str, parallel: int, artifacts: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "result.json"
        command = [
            sys.executable,
            "-m",
            "xmtpd_e2e.cli.main",
            "run",
            "--test",
            tests,
            "--runtime",
            runtime,
            "--image-set",
            "local",
            "--parallel",
            str(parallel),
            "--artifacts",
            str(artifacts),
            "--output-format",
            "json",
            "--output-file",
            str(output),
        ]
        began = time.monotonic()
        completed = subprocess.run(command, capture_output=True, text=True, cwd=scratch)
        wall = time.monotonic() - began
        try:
            result = json.loads(output.read_text())
        except (OSError, ValueError):
            return {
                "wall_seconds": wall,
                "exit_code": completed.returncode,
                "scenarios": {},
                "runner_error": completed.stderr[-4000:],
            }
    return {
        "wall_seconds": wall,
        "exit_code": completed.returncode,
        "scenarios": {
            s["name"]: {
                "status": s["status"],
                "seconds": round(s["duration_seconds"], 1),
                "error": s.get("error"),
                "artifacts": sorted({str(Path(a).parent) for a in s["artifacts"]})[:1],
            }
            for s in result["scenarios"]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=("local", "docker"), required=True)
    parser.add_argument("--tests", required=True, help="comma-separated scenario names, run together")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--name", required=True, help="result file name (bench/results/<name>-<runtime>.json)")
    parser.add_argument("--keep-artifacts", type=Path, required=True, help="where failed scenarios' artifacts stay")
    args = parser.parse_args()
    outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    seconds: defaultdict[str, list[float]] = defaultdict(list)
    failures: list[dict[str, Any]] = []
    walls: list[float] = []
    for index in range(args.runs):
        run = run_once(args.runtime, args.tests, args.parallel, args.keep_artifacts)
        walls.append(round(run["wall_seconds"], 1))
        if "runner_error" in run:
            failures.append(
                {
                    "run": index,
                    "scenario": None,
                    "status": f"runner exit {run['exit_code']}",
                    "error": run["runner_error"],
                }
            )
        for name, outcome in run["scenarios"].items():
            outcomes[name][outcome["status"]] += 1
            seconds[name].append(outcome["seconds"])
            if outcome["status"] != "PASS":
                failures.append({"run": index, "scenario": name, **outcome})
        results = {
            "tests": args.tests,
            "parallel": args.parallel,
            "runs_completed": index + 1,
            "runs_planned": args.runs,
            "wall_seconds": summarize(walls, 1),
            "outcomes": {name: dict(counts) for name, counts in sorted(outcomes.items())},
            "scenario_seconds": {name: summarize(values, 1) for name, values in sorted(seconds.items())},
            "failures": failures,
        }
        path = save(f"{args.name}-{args.runtime}", " ".join(["python", *sys.argv]), results)
        bad = sum(1 for f in failures if f["run"] == index)
        print(f"{args.runtime} run {index + 1}/{args.runs}: {bad} not passed, {walls[-1]}s", flush=True)
    print(f"{len(failures)} non-passing outcome(s) in {args.runs} runs; recorded in {path}")


if __name__ == "__main__":
    main()
