"""A real run records each fault's recovery time in its results JSON: a partition healed through
the public API, with envelopes published during it, recovers in a positive, finite number of
seconds, both on every node and for the node the scenario reads."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
from cli_runs import run_to_json

from xmtpd_e2e.runner.reports import results_schema

MODULE = Path(__file__).with_name("recovery_scenario.py")


def test_a_healed_partition_has_a_recovery_time_in_the_results(tmp_path: Path) -> None:
    run, outcomes = run_to_json(["partition-heal-recovery"], tmp_path, scenarios=MODULE)
    assert run.returncode == 0, run.stderr[-3000:]
    jsonschema.validate(json.loads((tmp_path / "result.json").read_text()), results_schema())
    [recovery] = outcomes["partition-heal-recovery"]["recoveries"]
    assert recovery["kind"] == "partition" and "node-200" in recovery["target"], recovery
    assert recovery["acknowledged"] == 8 and recovery["recovered"] and recovery["nodes_converged"], recovery
    assert 0 < recovery["nodes_seconds"] < 120 and math.isfinite(recovery["nodes_seconds"]), recovery
    assert recovery["readers_seconds"] is not None and 0 < recovery["readers_seconds"] < 120, recovery
