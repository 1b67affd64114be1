"""``make test`` several times in a row, each on a fresh clone of one commit.

Does the README's test command pass every time, or only most times?  Each run clones the
repository anew (no ``.venv``, no artifacts, no run records of an earlier run; the machine's
caches of binaries, images and the built Kubernetes cluster stay, as on CI) and runs ``.ci/run``
with ``CI=true``.  The count stops at the first failure, whose clone and log are kept; a passing
run's clone is removed.  One run takes 17–20 min on 2 idle cores, so this is not part of
``run_all.py``; the machine should do nothing else meanwhile.

    python bench/make_test_in_a_row.py --runs 3 --workdir /work/make-test-runs
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from recording import save, session

REPOSITORY = Path(__file__).resolve().parents[1]

# The lines of a run's log that say what passed: the runner's "16 passed" per suite and
# pytest's "311 passed, 38 deselected in ...".
COUNT_LINE = re.compile(r"^\d+ (passed|failed)\b")


def _outcome_lines(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [line.strip() for line in lines if COUNT_LINE.match(line.strip())]


def _one_run(number: int, commit: str, workdir: Path) -> dict[str, Any]:
    clone = workdir / f"run-{number}"
    log = workdir / f"run-{number}.log"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(REPOSITORY), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", commit], check=True)
    started = time.monotonic()
    with log.open("w") as output:
        completed = subprocess.run(
            ["bash", ".ci/run"], cwd=clone, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, "CI": "true"}
        )
    seconds = round(time.monotonic() - started)
    passed = completed.returncode == 0
    if passed:
        shutil.rmtree(clone, ignore_errors=True)
    print(f"run {number}: {'passed' if passed else 'FAILED'} in {seconds} s (log {log})", flush=True)
    return {
        "run": number,
        "passed": passed,
        "exit_code": completed.returncode,
        "seconds": seconds,
        "counts": _outcome_lines(log),
        "log": str(log),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--commit", default="HEAD", help="what to clone and test (default: HEAD)")
    parser.add_argument("--workdir", type=Path, required=True, help="where the clones and their logs go")
    arguments = parser.parse_args()
    commit = subprocess.run(
        ["git", "-C", str(REPOSITORY), "rev-parse", arguments.commit], capture_output=True, text=True, check=True
    ).stdout.strip()
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    sitting = session(arguments.runs)
    for number in range(1, arguments.runs + 1):
        runs.append(_one_run(number, commit, arguments.workdir))
        if not runs[-1]["passed"]:
            break
    passed_in_a_row = sum(1 for run in runs if run["passed"])  # the count stops at the first failure
    results = {"commit": commit, "session": sitting, "passed_in_a_row": passed_in_a_row, "runs": runs}
    save("make-test-in-a-row", " ".join(["python", "bench/make_test_in_a_row.py", *sys.argv[1:]]), results)
    sys.exit(0 if passed_in_a_row == arguments.runs else 1)


if __name__ == "__main__":
    main()
