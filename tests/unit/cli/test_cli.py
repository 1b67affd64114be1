"""The command line as a user meets it: listing, selection, env binding, formats, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from xmtpd_e2e.runner.reports import results_schema

TESTS = Path(__file__).resolve().parents[2]
USER_MODULE = "unit.cli.user_scenarios"


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # Keep the caller's path after the tests' own: a checkout run with PYTHONPATH=src tests its sources.
    python_path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    environment = {**os.environ, "PYTHONPATH": python_path, "XMTPD_E2E_ENVIRONMENT_FACTORY": "unit.runner.fakes:factory",
                   **(env or {})}
    return subprocess.run([sys.executable, "-m", "xmtpd_e2e.cli.main", *args], capture_output=True, text=True,
                          env=environment, cwd=cwd, timeout=120)


@pytest.fixture()
def home(tmp_path: Path) -> dict[str, str]:
    return {"XMTPD_E2E_HOME": str(tmp_path / "home"), "XMTPD_E2E_ARTIFACTS": str(tmp_path / "artifacts")}


def test_list_shows_the_catalogue_with_suites_and_durations() -> None:
    result = cli("list", "--output-format", "json")
    assert result.returncode == 0, result.stderr
    listed = {s["name"]: s for s in json.loads(result.stdout)}
    assert len(listed) >= 17 and list(listed)[0] == "smoke"
    assert "fast" in listed["smoke"]["suites"] and listed["payer-lifecycle"]["suites"] == ["full"]
    assert listed["smoke"]["typical_seconds"] > 0
    human = cli("list")
    assert "smoke" in human.stdout and "DESCRIPTION" in human.stdout


def test_unknown_test_is_a_usage_error_listing_known_names(home: dict[str, str]) -> None:
    result = cli("run", "--test", "does-not-exist", env=home)
    assert result.returncode == 2
    assert "unknown scenario(s): does-not-exist" in result.stderr and "smoke" in result.stderr


def test_invalid_environment_value_names_the_variable(home: dict[str, str]) -> None:
    result = cli("run", "--test", "smoke", env={**home, "XMTPD_E2E_RUNTIME": "nomad"})
    assert result.returncode == 2
    assert "XMTPD_E2E_RUNTIME" in result.stderr and "nomad" in result.stderr


def test_exit_codes_and_json_results_match_the_schema(home: dict[str, str], tmp_path: Path) -> None:
    ok = cli("run", "--scenarios", USER_MODULE, "--test", "user-passes", "--output-format", "json", env=home)
    assert ok.returncode == 0, ok.stderr
    jsonschema.validate(json.loads(ok.stdout), results_schema())

    bad = cli("run", "--scenarios", USER_MODULE, "--test", "user-passes,user-fails", "--test", "user-crashes",
              "--output-format", "json", env=home)
    assert bad.returncode == 1
    document = json.loads(bad.stdout)
    jsonschema.validate(document, results_schema())
    assert [s["status"] for s in document["scenarios"]] == ["PASS", "FAIL", "ERROR"]
    assert document["summary"] == {"total": 3, "PASS": 1, "FAIL": 1, "ERROR": 1, "TIMEOUT": 0,
                                   "INTERRUPTED": 0, "SETUP_ERROR": 0}
    assert "envelopes on node 200" in document["scenarios"][1]["error"]
    assert document["scenarios"][2]["artifacts"]
    failed_timeline = {(e["kind"], e["name"]): e for e in document["scenarios"][1]["timeline"]}
    assert failed_timeline[("check", "verdict")]["params"]["status"] == "FAIL"
    scenario_phase = failed_timeline[("phase", "scenario")]
    assert scenario_phase["end"] is not None and scenario_phase["end"] >= scenario_phase["start"]


def test_test_selection_binds_to_the_environment(home: dict[str, str]) -> None:
    result = cli("run", "--scenarios", USER_MODULE, "--output-format", "json",
                 env={**home, "XMTPD_E2E_TEST": "user-fails"})
    assert [s["name"] for s in json.loads(result.stdout)["scenarios"]] == ["user-fails"]


def test_junit_output_parses_back(home: dict[str, str], tmp_path: Path) -> None:
    output = tmp_path / "results.xml"
    result = cli("run", "--scenarios", USER_MODULE, "--test", "user-passes,user-fails,user-crashes",
                 "--output-format", "junit", "--output-file", str(output), env=home)
    assert result.returncode == 1
    suite = ET.parse(output).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "3"
    assert suite.get("failures") == "1" and suite.get("errors") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["user-fails"].find("failure") is not None
    assert cases["user-crashes"].find("error") is not None


def test_human_output_ends_with_the_plain_verdict(home: dict[str, str]) -> None:
    result = cli("run", "--scenarios", USER_MODULE, "--test", "user-passes,user-fails", env=home)
    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_a_scenario_module_that_fails_to_import_is_a_setup_error(home: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken_scenarios.py"
    broken.write_text("import not_a_real_module\n")
    result = cli("run", "--scenarios", str(broken), env=home)
    assert result.returncode == 2
    assert "broken_scenarios.py" in result.stderr and "not_a_real_module" in result.stderr
    assert "Traceback" not in result.stderr


def test_setup_error_exits_2_with_the_fix(home: dict[str, str], tmp_path: Path) -> None:
    module = tmp_path / "setup_scenarios.py"
    module.write_text(
        "from xmtpd_e2e.runner.scenario import scenario\n"
        "@scenario('setup-broken', 'environment cannot start')\n"
        "def s(env):\n    pass\n"
    )
    result = cli("run", "--scenarios", str(module), "--test", "setup-broken", env=home)
    assert result.returncode == 2
    assert "no Docker engine answers" in result.stderr + result.stdout


def test_parallel_workers_merge_results(home: dict[str, str]) -> None:
    result = cli("run", "--scenarios", USER_MODULE, "--test", "user-passes,user-fails,user-crashes",
                 "--parallel", "2", "--output-format", "json", env=home)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, results_schema())
    assert [(s["name"], s["status"]) for s in document["scenarios"]] == [
        ("user-passes", "PASS"), ("user-fails", "FAIL"), ("user-crashes", "ERROR")]
