"""Without an MLS validation service, a run refuses the scenarios that need it -- saying why and
how to fix it, before building anything for them -- and still runs the others."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MODULE = Path(__file__).with_name("validation_requiring_scenarios.py")


def test_the_scenario_needing_validation_is_refused_the_other_runs(tmp_path: Path) -> None:
    output = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if k != "XMTPD_E2E_MLS_VALIDATION_BIN"}
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin"
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
            "needs-validation,needs-no-validation",
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
        env=env,
    )
    assert run.returncode == 2, run.stderr[-3000:]  # a setup error: the run is not clean
    outcomes = {s["name"]: s for s in json.loads(output.read_text())["scenarios"]}
    refused = outcomes["needs-validation"]
    assert refused["status"] == "SETUP_ERROR" and refused["environment"] == {}, refused
    assert "needs-validation needs the mls-validation service" in refused["error"], refused["error"]
    assert "--mls-validation-bin" in refused["error"] and "XMTPD_E2E_MLS_VALIDATION_BIN" in refused["error"]
    assert outcomes["needs-no-validation"]["status"] == "PASS", outcomes["needs-no-validation"]
    assert "needs the mls-validation service" in run.stderr and "Traceback" not in run.stderr
