"""Replay every known finding N times through ``xmtpd-e2e explore --regression`` and record how
often each still shows.

usage: python bench/explore_regression.py [--runs N] [--runtime local]

Writes ``bench/results/explore-regression.json``: per finding, its violation kind, each replay's
status and kinds, and the count that reproduced.  The replays run with the settings their records
carry (xmtpd version, thresholds), the runtime given here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from recording import save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--runtime", default="local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        summary = Path(scratch) / "summary.json"
        command = [
            sys.executable, "-m", "xmtpd_e2e.cli.main", "explore", "--regression",
            "--regression-runs", str(args.runs), "--runtime", args.runtime,
            "--record-dir", str(Path(scratch) / "records"), "--artifacts", str(Path(scratch) / "artifacts"),
            "--output-format", "json", "--output-file", str(summary),
        ]  # fmt: skip
        finished = subprocess.run(command, text=True)
        findings = json.loads(summary.read_text()).get("regression", [])
    for finding in findings:
        for run in finding["runs"]:
            run.pop("record", None)  # the scratch directory is gone
    results = {"exit_code": finished.returncode, "runtime": args.runtime, "findings": findings}
    print(save("explore-regression", "python bench/explore_regression.py " + " ".join(sys.argv[1:]), results))


if __name__ == "__main__":
    main()
