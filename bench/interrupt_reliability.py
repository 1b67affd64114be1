"""Reliability of "an interrupt at any moment leaves nothing": the set-up-phase cases, many times.

Runs the same check as ``tests/integration/runner/test_interrupts.py`` (a real ``xmtpd-e2e run
--test smoke`` signalled as soon as its record names a resource, then the system searched for
anything of that run) ``--runs`` times per case, and records after every run: pass/fail counts,
each run's duration, and the full text of every failure.

    .venv/bin/python bench/interrupt_reliability.py --runs 100 --cases local-SIGINT-setup,local-SIGTERM-setup

A hundred rounds take longer than one sitting on a small machine: ``--resume`` continues the
record of the same name (same cases) up to ``--runs`` rounds in all, and the record lists each
sitting with its commit and load average.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from recording import previous, save, session, summarize

# The check itself is the integration test's (and the helpers it imports from its parent folder).
INTEGRATION = Path(__file__).resolve().parents[1] / "tests" / "integration"
sys.path[:0] = [str(INTEGRATION / "runner"), str(INTEGRATION)]

from test_interrupts import test_interrupted_run_leaves_nothing  # noqa: E402

SETUP_CASES = ("local-SIGINT-setup", "local-SIGTERM-setup", "local-SIGKILL-setup", "docker-SIGTERM-setup")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--cases", default=",".join(SETUP_CASES))
    parser.add_argument("--name", default="interrupt-setup-reliability")
    parser.add_argument("--resume", action="store_true", help="continue the record of this name up to --runs rounds")
    args = parser.parse_args()
    cases = [c.split("-") for c in args.cases.split(",")]
    counts: dict[str, Counter[str]] = {"-".join(c): Counter() for c in cases}
    seconds: dict[str, list[float]] = {"-".join(c): [] for c in cases}
    failures: list[dict[str, Any]] = []
    sittings: list[dict[str, Any]] = []
    done = 0
    earlier = previous(args.name) if args.resume else None
    if earlier:
        if set(earlier.get("cases", {})) != set(counts):
            sys.exit(f"--resume: {args.name} recorded cases {sorted(earlier.get('cases', {}))}, not {sorted(counts)}")
        done = int(earlier["runs_completed"])
        failures = list(earlier["failures"])
        sittings = list(earlier.get("sittings", []))
        for case, recorded in earlier["cases"].items():
            counts[case]["pass"] = recorded["passed"]
            counts[case]["fail"] = recorded["failed"]
            seconds[case] = list(recorded["seconds"]["samples"])
    sittings.append(session(0))
    path = None
    for index in range(done, args.runs):
        for runtime, signame, phase in cases:
            case = f"{runtime}-{signame}-{phase}"
            began = time.monotonic()
            with tempfile.TemporaryDirectory() as scratch:
                try:
                    test_interrupted_run_leaves_nothing(Path(scratch), runtime, signal.Signals[signame], phase)
                    outcome = "pass"
                except BaseException as error:  # a failure's whole text is the point of this record
                    outcome = "fail"
                    failures.append(
                        {
                            "case": case,
                            "run": index,
                            "load_average_1_min": round(os.getloadavg()[0], 1),
                            "error": "".join(traceback.format_exception(error)),
                        }
                    )
            counts[case][outcome] += 1
            seconds[case].append(time.monotonic() - began)
            print(f"{case} run {index + 1}/{args.runs}: {outcome} in {seconds[case][-1]:.1f}s", flush=True)
        sittings[-1] = {**session(sittings[-1]["runs"] + 1), "date": sittings[-1]["date"]}
        results = {
            "runs_planned": args.runs,
            "runs_completed": index + 1,
            "cases": {
                case: {
                    "passed": counts[case]["pass"],
                    "failed": counts[case]["fail"],
                    "seconds": summarize(seconds[case], 2),
                }
                for case in counts
            },
            "failures": failures,
            "sittings": sittings,
        }
        path = save(args.name, " ".join(["python", *sys.argv]), results)
    print(f"{len(failures)} failure(s); recorded in {path}")


if __name__ == "__main__":
    main()
