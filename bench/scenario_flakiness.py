"""Reliability of chosen scenarios run side by side, many times: pass counts and every error text.

Runs ``xmtpd-e2e run --test A,B --parallel N`` as a user does, ``--runs`` times, and records
after every run (so an interrupted recording keeps what it has): each scenario's outcome and
duration, the full error text of every one that did not pass, and where its artifacts were kept.

    .venv/bin/python bench/scenario_flakiness.py --runtime local --tests chaos-connection-reset,chaos-compound-fault \
        --runs 100 --parallel 2 --name connection-reset-flakiness --keep-artifacts /tmp/cr-artifacts

``--resume`` continues the record of the same name (same scenarios) up to ``--runs`` runs in all;
the record lists each sitting with its commit and load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from recording import previous, save, session, summarize


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
    parser.add_argument("--resume", action="store_true", help="continue the record of this name up to --runs runs")
    args = parser.parse_args()
    name = f"{args.name}-{args.runtime}"
    outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    seconds: defaultdict[str, list[float]] = defaultdict(list)
    failures: list[dict[str, Any]] = []
    walls: list[float] = []
    sittings: list[dict[str, Any]] = []
    done = 0
    earlier = previous(name) if args.resume else None
    if earlier:
        if earlier.get("tests") != args.tests or earlier.get("parallel") != args.parallel:
            sys.exit(f"--resume: {name} recorded {earlier.get('tests')} at --parallel {earlier.get('parallel')}")
        done = int(earlier["runs_completed"])
        failures = list(earlier["failures"])
        walls = list(earlier["wall_seconds"]["samples"])
        sittings = list(earlier.get("sittings", []))
        for scenario, counted in earlier["outcomes"].items():
            outcomes[scenario].update(counted)
        for scenario, summary in earlier["scenario_seconds"].items():
            seconds[scenario] = list(summary["samples"])
    sittings.append(session(0))
    path = None
    for index in range(done, args.runs):
        run = run_once(args.runtime, args.tests, args.parallel, args.keep_artifacts)
        walls.append(round(run["wall_seconds"], 1))
        load = round(os.getloadavg()[0], 1)
        if "runner_error" in run:
            failures.append(
                {
                    "run": index,
                    "scenario": None,
                    "status": f"runner exit {run['exit_code']}",
                    "load_average_1_min": load,
                    "error": run["runner_error"],
                }
            )
        for scenario, outcome in run["scenarios"].items():
            outcomes[scenario][outcome["status"]] += 1
            seconds[scenario].append(outcome["seconds"])
            if outcome["status"] != "PASS":
                failures.append({"run": index, "scenario": scenario, "load_average_1_min": load, **outcome})
        sittings[-1] = {**session(sittings[-1]["runs"] + 1), "date": sittings[-1]["date"]}
        results = {
            "tests": args.tests,
            "parallel": args.parallel,
            "runs_completed": index + 1,
            "runs_planned": args.runs,
            "wall_seconds": summarize(walls, 1),
            "outcomes": {scenario: dict(counts) for scenario, counts in sorted(outcomes.items())},
            "scenario_seconds": {scenario: summarize(values, 1) for scenario, values in sorted(seconds.items())},
            "failures": failures,
            "sittings": sittings,
        }
        path = save(name, " ".join(["python", *sys.argv]), results)
        bad = sum(1 for f in failures if f["run"] == index)
        print(f"{args.runtime} run {index + 1}/{args.runs}: {bad} not passed, {walls[-1]}s", flush=True)
    print(f"{len(failures)} non-passing outcome(s) in {args.runs} runs; recorded in {path}")


if __name__ == "__main__":
    main()
