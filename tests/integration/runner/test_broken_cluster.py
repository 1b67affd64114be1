"""A real replication failure is a FAIL that says which node lacks what, with artifacts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

MODULE = Path(__file__).with_name("broken_cluster_scenarios.py")


def test_a_node_that_never_syncs_fails_the_run_and_is_named(tmp_path: Path) -> None:
    output = tmp_path / "result.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "xmtpd_e2e.cli.main",
            "run",
            "--runtime",
            "local",
            "--scenarios",
            str(MODULE),
            "--test",
            "broken-wait",
            "--test",
            "broken-invariants",
            "--artifacts",
            str(tmp_path / "artifacts"),
            "--output-format",
            "json",
            "--output-file",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 1, run.stderr[-3000:]
    outcomes = {s["name"]: s for s in json.loads(output.read_text())["scenarios"]}

    waited = outcomes["broken-wait"]
    assert waited["status"] == "FAIL", waited
    assert "node-300 to store >= 10 envelopes" in waited["error"], waited["error"]

    checked = outcomes["broken-invariants"]
    assert checked["status"] == "FAIL", checked
    violations = " ".join(checked["invariant_violations"])
    assert "node 300 is missing 10 of 10 published envelopes" in violations, violations
    assert "node 100 is missing" not in violations and "node 200 is missing" not in violations, violations
    assert "node 300: {}" in violations, violations  # its vector clock never moved

    for outcome in outcomes.values():
        names = {Path(a).name for a in outcome["artifacts"]}
        assert "scenario.log" in names, names
        assert any("node-300" in a for a in outcome["artifacts"]), outcome["artifacts"]
