"""Run every benchmark and write bench/RESULTS.md from the recorded JSON (``make bench``).

The machine should otherwise be idle: these are wall-clock measurements.  Each benchmark can
also be run on its own (see its docstring).  ``--quick`` uses fewer repetitions.

The comparison with upstream's framework runs last, always: without an upstream binary it
refuses, and when upstream fails it says why; either way the summary is still written and then
``make bench`` fails, so a missing comparison is never mistaken for a measured one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from summary import write_summary

from xmtpd_e2e.runtime.registry import DOCKER, LOCAL

BENCH = Path(__file__).resolve().parent


def run(script: str, *args: str) -> None:
    command = [sys.executable, str(BENCH / script), *args]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--upstream-bin", type=Path, default=os.environ.get("XMTPD_E2E_UPSTREAM_BIN"))
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="also run bench/scale.py (clusters of up to 50 nodes: long, loads the machine)",
    )
    args = parser.parse_args()
    comparison = 0
    if not args.summary_only:
        repeat = "2" if args.quick else "5"
        run("chain_operations.py", "--repeat", repeat)
        for runtime in (LOCAL, DOCKER):
            run("bring_up.py", "--runtime", runtime, "--repeat", repeat)
            run("smoke_phases.py", "--runtime", runtime, "--repeat", repeat)
            run("throughput.py", "--runtime", runtime, "--seconds", "10" if args.quick else "20")
            run("suite.py", "--runtime", runtime, "--parallel", "1,2", "--repeat", "1")
            if args.scale:
                run("scale.py", "--runtime", runtime, "--sizes", "3,10,25,50")
        upstream = ["--upstream-bin", str(args.upstream_bin)] if args.upstream_bin else []
        command = [sys.executable, str(BENCH / "upstream_comparison.py"), *upstream, "--repeat", "3"]
        print("$", " ".join(command[1:]), flush=True)
        comparison = subprocess.run(command, check=False).returncode
    print(f"summary: {write_summary()}")
    if not args.summary_only and comparison != 0:
        print(f"make bench FAILED: the upstream comparison exited {comparison} (its reason is above)", file=sys.stderr)
        sys.exit(comparison)


if __name__ == "__main__":
    main()
