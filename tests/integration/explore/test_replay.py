"""Replay that holds: a recorded failing plan, replayed by the command a user runs, on a real cluster,
shows the same violation kind, and runs with the settings its record carries."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runs import cli, explore_arguments

from xmtpd_e2e.explore.known_findings import KNOWN_FINDINGS


def test_the_sync_disabled_finding_replays_with_its_recorded_settings_and_the_same_violation(tmp_path: Path) -> None:
    finding = next(f for f in KNOWN_FINDINGS if f.name == "sync-disabled-node")
    recorded = json.loads(finding.path.read_text())["settings"]
    summary = tmp_path / "summary.json"
    result = cli("explore", "--replay", str(finding.path), *explore_arguments(tmp_path), timeout=900)
    assert result.returncode == 1, result.stderr[-3000:]
    (run,) = json.loads(summary.read_text())["runs"]
    assert finding.kind in {v["kind"] for v in run["verdict"]["violations"]}, run["verdict"]
    settings = json.loads(Path(run["record"]).read_text())["settings"]
    # The record's thresholds and version were used; the runtime given on the command line won.
    assert settings["convergence_timeout"] == recorded["convergence_timeout"] == 20.0
    assert settings["xmtpd_version"] == recorded["xmtpd_version"] and settings["runtime"] == "local"
    assert settings["replayed_from"] == str(finding.path)
