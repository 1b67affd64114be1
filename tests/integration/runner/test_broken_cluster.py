"""A real replication failure is a FAIL that says which node lacks what, with artifacts."""

from __future__ import annotations

from pathlib import Path

from cli_runs import run_to_json

MODULE = Path(__file__).with_name("broken_cluster_scenarios.py")


def test_a_node_that_never_syncs_fails_the_run_and_is_named(tmp_path: Path) -> None:
    run, outcomes = run_to_json(["broken-wait", "broken-invariants"], tmp_path, scenarios=MODULE)
    assert run.returncode == 1, run.stderr[-3000:]

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
