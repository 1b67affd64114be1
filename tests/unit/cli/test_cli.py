"""The command line as a user meets it: listing, selection, env binding, formats, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
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
    environment = {
        **os.environ,
        "PYTHONPATH": python_path,
        "XMTPD_E2E_ENVIRONMENT_FACTORY": "unit.runner.fakes:factory",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "xmtpd_e2e.cli.main", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=600,
    )


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

    bad = cli(
        "run",
        "--scenarios",
        USER_MODULE,
        "--test",
        "user-passes,user-fails",
        "--test",
        "user-crashes",
        "--output-format",
        "json",
        env=home,
    )
    assert bad.returncode == 1
    document = json.loads(bad.stdout)
    jsonschema.validate(document, results_schema())
    assert [s["status"] for s in document["scenarios"]] == ["PASS", "FAIL", "ERROR"]
    assert document["summary"] == {
        "total": 3,
        "PASS": 1,
        "FAIL": 1,
        "ERROR": 1,
        "TIMEOUT": 0,
        "INTERRUPTED": 0,
        "SETUP_ERROR": 0,
    }
    assert "envelopes on node 200" in document["scenarios"][1]["error"]
    assert document["scenarios"][2]["artifacts"]
    failed_timeline = {(e["kind"], e["name"]): e for e in document["scenarios"][1]["timeline"]}
    assert failed_timeline[("check", "verdict")]["params"]["status"] == "FAIL"
    scenario_phase = failed_timeline[("phase", "scenario")]
    assert scenario_phase["end"] is not None and scenario_phase["end"] >= scenario_phase["start"]


def test_test_selection_binds_to_the_environment(home: dict[str, str]) -> None:
    result = cli(
        "run", "--scenarios", USER_MODULE, "--output-format", "json", env={**home, "XMTPD_E2E_TEST": "user-fails"}
    )
    assert [s["name"] for s in json.loads(result.stdout)["scenarios"]] == ["user-fails"]


def test_junit_output_parses_back(home: dict[str, str], tmp_path: Path) -> None:
    output = tmp_path / "results.xml"
    result = cli(
        "run",
        "--scenarios",
        USER_MODULE,
        "--test",
        "user-passes,user-fails,user-crashes",
        "--output-format",
        "junit",
        "--output-file",
        str(output),
        env=home,
    )
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
    result = cli(
        "run",
        "--scenarios",
        USER_MODULE,
        "--test",
        "user-passes,user-fails,user-crashes",
        "--parallel",
        "2",
        "--output-format",
        "json",
        env=home,
    )
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, results_schema())
    assert [(s["name"], s["status"]) for s in document["scenarios"]] == [
        ("user-passes", "PASS"),
        ("user-fails", "FAIL"),
        ("user-crashes", "ERROR"),
    ]


def test_parallel_runs_at_most_n_scenarios_at_once_and_sets_the_next_one_up_ahead(
    home: dict[str, str], tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    result = cli(
        "run",
        "--scenarios",
        USER_MODULE,
        "--test",
        "user-naps-1,user-naps-2,user-naps-3",
        "--parallel",
        "2",
        "--output-format",
        "json",
        env={**home, "XMTPD_E2E_TEST_EVENTS": str(events)},
    )
    assert result.returncode == 0, result.stderr
    happened = fakes_events(events)
    bodies = {
        str(e["scenario"]): (float(str(b["at"])), float(str(e["at"])))
        for b in happened
        if b["event"] == "body-begins"
        for e in happened
        if e["event"] == "body-ends" and e["scenario"] == b["scenario"]
    }
    assert len(bodies) == 3, happened
    for name, (begins, _) in bodies.items():
        running = [other for other, (b, e) in bodies.items() if other != name and b <= begins < e]
        assert len(running) <= 1, f"{name} began while {running} ran: more than --parallel 2 at once"
    last = max(bodies, key=lambda name: bodies[name][0])
    first_end = min(end for _, end in bodies.values())
    started = next(float(str(e["at"])) for e in happened if e["event"] == "start" and e["scenario"] == last)
    assert started < first_end, "the third environment should come up while the first two run"
    set_up = next(float(str(e["at"])) for e in happened if e["event"] == "set-up-begins" and e["scenario"] == last)
    assert set_up < first_end, "the third scenario's own set-up should run while the first two run"


# -- results reach the user whatever happens to the output file -------------------------------------
def test_output_file_in_a_missing_directory_is_created(home: dict[str, str], tmp_path: Path) -> None:
    output = tmp_path / "no" / "such" / "dir" / "r.json"
    result = cli(
        "run",
        "--scenarios",
        USER_MODULE,
        "--test",
        "user-passes",
        "--output-format",
        "json",
        "--output-file",
        str(output),
        env=home,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(output.read_text())["scenarios"][0]["status"] == "PASS"


def test_an_unwritable_output_file_is_a_usage_error_before_anything_starts(
    home: dict[str, str], tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    output = blocker / "r.json"  # a path under a regular file can never be created
    result = cli(
        "run",
        "--scenarios",
        USER_MODULE,
        "--test",
        "user-passes",
        "--output-format",
        "json",
        "--output-file",
        str(output),
        env={**home, "XMTPD_E2E_TEST_EVENTS": str(events)},
    )
    assert result.returncode == 2, result.stderr
    assert str(output) in result.stderr and "Traceback" not in result.stderr
    assert not events.exists(), "no scenario may start when its results could not be written"


def test_results_go_to_stdout_when_the_output_file_fails_at_the_end(home: dict[str, str], tmp_path: Path) -> None:
    output_dir = tmp_path / "out"
    module = tmp_path / "spoils_output.py"
    module.write_text(
        "import shutil\nfrom pathlib import Path\nfrom xmtpd_e2e.runner.scenario import scenario\n"
        "@scenario('spoils-output', 'replaces the output directory with a file while running')\n"
        f"def s(env):\n    shutil.rmtree({str(output_dir)!r})\n    Path({str(output_dir)!r}).write_text('')\n"
    )
    result = cli(
        "run",
        "--scenarios",
        str(module),
        "--test",
        "spoils-output",
        "--output-format",
        "json",
        "--output-file",
        str(output_dir / "r.json"),
        env=home,
    )
    assert result.returncode == 2, result.stderr
    assert str(output_dir / "r.json") in result.stderr and "Traceback" not in result.stderr
    assert json.loads(result.stdout)["scenarios"][0]["status"] == "PASS"


# -- interrupts: the shell's exit codes, results so far, interrupted rows marked ----------------------
@pytest.mark.parametrize(
    ("signum", "code", "parallel"),
    [(signal.SIGINT, 130, "1"), (signal.SIGTERM, 143, "2")],
    ids=["SIGINT-serial", "SIGTERM-parallel"],
)
def test_an_interrupted_run_exits_128_plus_the_signal_with_its_results(
    home: dict[str, str], tmp_path: Path, signum: signal.Signals, code: int, parallel: str
) -> None:
    events = tmp_path / "events.jsonl"
    output = tmp_path / "r.json"
    python_path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    environment = {
        **os.environ,
        "PYTHONPATH": python_path,
        "XMTPD_E2E_ENVIRONMENT_FACTORY": "unit.runner.fakes:factory",
        **home,
        "XMTPD_E2E_TEST_EVENTS": str(events),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xmtpd_e2e.cli.main",
            "run",
            "--scenarios",
            USER_MODULE,
            "--parallel",
            parallel,
            "--test",
            "user-passes,user-waits,user-fails",
            "--output-format",
            "json",
            "--output-file",
            str(output),
        ],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not any(e["event"] == "waiting" for e in fakes_events(events)):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    document = json.loads(output.read_text())
    jsonschema.validate(document, results_schema())
    statuses = {s["name"]: s["status"] for s in document["scenarios"]}
    assert statuses["user-waits"] == "INTERRUPTED" and document["interrupted_by"] == signum.name
    assert set(statuses) == {"user-passes", "user-waits", "user-fails"}, statuses


def fakes_events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- --scenarios: name the file, the line and the error; suggest a command that works ------------------
def test_a_missing_scenario_file_is_named(home: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "my_scenarios.py"
    result = cli("run", "--scenarios", str(missing), env=home)
    assert result.returncode == 2
    assert f"scenario file {missing} does not exist" in result.stderr
    assert "ModuleNotFoundError" not in result.stderr and "Traceback" not in result.stderr


def test_a_syntax_error_names_file_and_line_and_a_fix_that_runs(home: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "typo_scenarios.py"
    broken.write_text(
        "from xmtpd_e2e import scenario\n\n\n@scenario('typo', 'has a typo')\ndef typo(env):\n"
        "    if True\n        pass\n"
    )
    result = cli("run", "--scenarios", str(broken), env=home)
    assert result.returncode == 2
    assert f"{broken}, line 6" in result.stderr and "SyntaxError" in result.stderr, result.stderr
    fix = re.search(r"`([^`]+)` shows the whole traceback", result.stderr)
    assert fix, result.stderr
    shown = subprocess.run(fix.group(1), shell=True, capture_output=True, text=True, timeout=60)
    assert "SyntaxError" in shown.stderr and "line 6" in shown.stderr, shown.stderr


def test_an_error_raised_while_importing_names_the_line(home: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "raising_scenarios.py"
    broken.write_text("import os\n\nSETTING = os.environ['XMTPD_E2E_SURELY_UNSET_VARIABLE']\n")
    result = cli("run", "--scenarios", str(broken), env=home)
    assert result.returncode == 2
    assert f"{broken}, line 3" in result.stderr and "KeyError" in result.stderr, result.stderr


def test_a_missing_dotted_module_says_so(home: dict[str, str]) -> None:
    result = cli("run", "--scenarios", "no_such_package.scenarios", env=home)
    assert result.returncode == 2
    assert "'no_such_package.scenarios' was not found" in result.stderr and "Traceback" not in result.stderr


# -- a passing run leaves nothing on disk --------------------------------------------------------
def test_a_passing_parallel_run_leaves_no_files(home: dict[str, str], tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = cli(
        "run",
        "--scenarios",
        USER_MODULE,
        "--test",
        "user-passes,user-passes-too",
        "--parallel",
        "2",
        env={**home, "TMPDIR": str(scratch)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "no teardown reached" not in result.stderr, result.stderr  # the runner removed its own scratch
    assert not (tmp_path / "artifacts").exists(), list((tmp_path / "artifacts").rglob("*"))
    assert list(scratch.iterdir()) == [], "a temporary directory was left behind"
    assert list((tmp_path / "home" / "runs").iterdir()) == []


def test_a_failing_parallel_scenario_keeps_its_worker_log_beside_its_artifacts(
    home: dict[str, str], tmp_path: Path
) -> None:
    result = cli(
        "run",
        "--scenarios",
        USER_MODULE,
        "--test",
        "user-passes,user-fails",
        "--parallel",
        "2",
        "--output-format",
        "json",
        env=home,
    )
    assert result.returncode == 1, result.stderr
    outcomes = {s["name"]: s for s in json.loads(result.stdout)["scenarios"]}
    assert outcomes["user-passes"]["artifacts"] == [] and outcomes["user-passes"]["log_file"] is None
    kept = [Path(a) for a in outcomes["user-fails"]["artifacts"]]
    assert any(p.name == "worker.log" and p.exists() for p in kept), kept
    assert not (tmp_path / "artifacts" / "workers").exists()
