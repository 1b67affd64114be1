"""Without an MLS validation service, a run refuses the scenarios that need it -- saying why and
how to fix it, before building anything for them -- and still runs the others."""

from __future__ import annotations

from pathlib import Path

from cli_runs import run_to_json, without_validation

MODULE = Path(__file__).with_name("validation_requiring_scenarios.py")


def test_the_scenario_needing_validation_is_refused_the_other_runs(tmp_path: Path) -> None:
    env = without_validation()
    run, outcomes = run_to_json(["needs-validation,needs-no-validation"], tmp_path, scenarios=MODULE, env=env)
    assert run.returncode == 2, run.stderr[-3000:]  # a setup error: the run is not clean
    refused = outcomes["needs-validation"]
    assert refused["status"] == "SETUP_ERROR" and refused["environment"] == {}, refused
    assert "needs-validation needs the mls-validation service" in refused["error"], refused["error"]
    assert "--mls-validation-bin" in refused["error"] and "XMTPD_E2E_MLS_VALIDATION_BIN" in refused["error"]
    assert outcomes["needs-no-validation"]["status"] == "PASS", outcomes["needs-no-validation"]
    assert "needs the mls-validation service" in run.stderr and "Traceback" not in run.stderr
