"""--html on run and the report command, with the fake environment: files, exit codes, no leftovers."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.unit.cli.test_cli import USER_MODULE, cli, home  # noqa: F401  (home is a fixture)
from xmtpd_e2e.runner.reports import results_schema


def test_run_html_writes_the_page_and_keeps_a_passing_scenarios_logs_only_in_results(
    home: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    page, results = tmp_path / "run.html", tmp_path / "results.json"
    outcome = cli(
        "run",
        "--scenarios",
        USER_MODULE,
        "--test",
        "user-passes,user-fails",
        "--html",
        str(page),
        "--output-format",
        "json",
        "--output-file",
        str(results),
        env=home,
    )
    assert outcome.returncode == 1, outcome.stderr
    data = json.loads(results.read_text())
    jsonschema.validate(data, results_schema())
    passed, failed = data["scenarios"]
    assert "fake-service" in passed["service_logs"] and passed["artifacts"] == []
    assert failed["service_logs"] == {} and failed["artifacts"]
    text = page.read_text()
    assert "user-passes" in text and "user-fails" in text and "fake-service" in text
    artifacts = Path(home["XMTPD_E2E_ARTIFACTS"])
    kept = {p.parent.name for p in artifacts.rglob("*") if p.is_file()}
    assert "user-passes" not in kept  # --html does not keep a passing scenario's files


def test_report_renders_later_from_the_results_file(home: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    results = tmp_path / "results.json"
    cli(
        "run",
        "--scenarios",
        USER_MODULE,
        "--test",
        "user-fails",
        "--output-format",
        "json",
        "--output-file",
        str(results),
        env=home,
    )
    page = tmp_path / "later.html"
    outcome = cli("report", str(results), "--html", str(page))
    assert outcome.returncode == 0, outcome.stderr
    assert "user-fails" in page.read_text() and "read from the artifacts" in page.read_text()


def test_report_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    missing = cli("report", str(tmp_path / "nope.json"), "--html", str(tmp_path / "x.html"))
    assert missing.returncode == 2 and "no results file at" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "bad.json").write_text("{not json")
    bad = cli("report", str(tmp_path / "bad.json"), "--html", str(tmp_path / "x.html"))
    assert bad.returncode == 2 and "is not JSON" in bad.stderr
    nowhere = cli("report", str(tmp_path / "bad.json"), "--html", str(tmp_path / "no" / "dir" / "x.html"))
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr
    assert not (tmp_path / "x.html").exists()
