"""Record what ``xmtpd-e2e explore`` found: its summary, the shrunk schedule, the command.

usage: python bench/explore_findings.py NAME SUMMARY.json [LOAD_NOTE]

SUMMARY.json is explore's ``--output-format json`` output.  Writes
``bench/results/explore-NAME.json`` (every run's verdict and what shrinking did) and, for a
shrunk failure, ``bench/results/explore-NAME-min.json``: the minimal record without its history,
which ``xmtpd-e2e explore --replay`` runs again.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from recording import RESULTS, save


def _runs(summary: dict[str, Any]) -> list[dict[str, Any]]:
    runs = []
    for run in summary["runs"]:
        verdict = run.get("verdict") or {}
        entry = {
            "seed": run["seed"],
            "status": run["status"],
            "error": run.get("error"),
            "load_average": run.get("load_average"),
            "violations": verdict.get("violations", []),
            "stats": verdict.get("stats", {}),
            "notes": verdict.get("notes", []),
        }
        shrunk = run.get("shrink")
        if shrunk:
            entry["shrink"] = {
                k: shrunk[k] for k in ("runs", "accepted", "stopped", "steps", "minimal_schedule", "minimal_verdict")
            }
        runs.append(entry)
    return runs


def main() -> None:
    name, summary_path = sys.argv[1], Path(sys.argv[2])
    load_note = sys.argv[3] if len(sys.argv) > 3 else ""
    summary = json.loads(summary_path.read_text())
    load = [round(x, 1) for x in os.getloadavg()]
    save(
        f"explore-{name}",
        summary["command"],
        {
            "load_average_when_recorded": load,
            "load_note": load_note or "the machine (2 cores) was shared with other engineers' clusters",
            "runs": _runs(summary),
        },
    )
    for run in summary["runs"]:
        shrunk = run.get("shrink")
        if shrunk:
            record = json.loads(Path(shrunk["record"]).read_text())
            record.pop("history", None)
            record.pop("final_state", None)
            (RESULTS / f"explore-{name}-min.json").write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
