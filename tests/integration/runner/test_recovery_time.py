"""A real run records each fault's recovery time in its results JSON: a partition healed through
the public API, with envelopes published during it, recovers in a positive, finite number of
seconds, both on every node and for the node the scenario reads."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import jsonschema

from xmtpd_e2e.runner.reports import results_schema

MODULE = Path(__file__).with_name("recovery_scenario.py")


def test_a_healed_partition_has_a_recovery_time_in_the_results(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    arguments = ["run", "--runtime", "local", "--scenarios", str(MODULE), "--test", "partition-heal-recovery"]
    arguments += ["--artifacts", str(tmp_path / "artifacts"), "--output-format", "json", "--output-file", str(results)]
    run = subprocess.run(
        [sys.executable, "-m", "xmtpd_e2e.cli.main", *arguments], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    document = json.loads(results.read_text())
    jsonschema.validate(document, results_schema())
    [recovery] = document["scenarios"][0]["recoveries"]
    assert recovery["kind"] == "partition" and "node-200" in recovery["target"], recovery
    assert recovery["acknowledged"] == 8 and recovery["recovered"] and recovery["nodes_converged"], recovery
    assert 0 < recovery["nodes_seconds"] < 120 and math.isfinite(recovery["nodes_seconds"]), recovery
    assert recovery["readers_seconds"] is not None and 0 < recovery["readers_seconds"] < 120, recovery
