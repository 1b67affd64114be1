"""A replay runs with the settings its record carries; an option given on the command line wins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xmtpd_e2e.cli.explore_output import emit
from xmtpd_e2e.cli.explore_session import ExploreSession


def params(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "runtime": "auto",
        "image_set": "auto",
        "xmtpd_version": "v1.2.0",
        "slow_seconds": 30.0,
        "grace_seconds": 20.0,
        "convergence_timeout": 45.0,
        "recovery_budgets": {},
    }
    return {**base, **changes}


RECORDED = {
    "runtime": "local",
    "image_set": "upstream",
    "xmtpd_version": "v1.1.0",
    "slow_seconds": 12.0,
    "grace_seconds": 5.0,
    "convergence_timeout": 20.0,
    "recovery_budgets": {"kill": 30.0},
    "generation": {"duration": 60.0},
}


def test_a_replay_takes_every_recorded_setting_left_at_its_default() -> None:
    session = ExploreSession({}, params(), "xmtpd-e2e explore --replay r.json", None, explicit={"replay"})
    settings = session.settings(RECORDED)
    assert {k: settings[k] for k in RECORDED if k != "generation"} == {
        k: v for k, v in RECORDED.items() if k != "generation"
    }


def test_an_option_given_beats_the_recorded_one() -> None:
    session = ExploreSession({}, params(slow_seconds=60.0, runtime="docker"), "", None, {"slow_seconds", "runtime"})
    settings = session.settings(RECORDED)
    assert settings["slow_seconds"] == 60.0 and settings["runtime"] == "docker"
    assert settings["xmtpd_version"] == "v1.1.0" and settings["convergence_timeout"] == 20.0


def test_a_violation_message_is_printed_as_written_brackets_included(tmp_path: Path) -> None:
    message = "1 reader(s) never got acknowledged envelopes [reader, node, count, first keys]: [['r1', 'node-200']]"
    verdict = {
        "violations": [{"kind": "read-unseen", "message": message}],
        "notes": [],
        "stats": {
            "operations": {},
            "acknowledged_envelopes": 0,
            "faults": 0,
            "nodes_checked": [],
            "publish_latency_p50": None,
            "publish_latency_max": None,
        },
    }
    out = tmp_path / "summary.txt"
    emit({"runs": [{"seed": 1, "status": "FAIL", "record": "r.json", "verdict": verdict}]}, "human", out)
    assert message in out.read_text().replace("\n", "")


def test_artifacts_always_reaches_the_run_config(tmp_path: Path) -> None:
    # A passing run keeps its services' logs only when asked: the runner reads artifacts_always.
    cli_state = {"log_level": "info", "log_encoding": "console"}
    common = {
        "xmtpd_image": None,
        "gateway_image": None,
        "xmtpd_bin": None,
        "gateway_bin": None,
        "postgres_dsn": "postgres://localhost/postgres",
        "artifacts": tmp_path,
    }
    settings = params(runtime="local", image_set="local")
    for given, expected in (({}, False), ({"artifacts_always": True}, True)):
        session = ExploreSession(cli_state, params(**common, **given), "", None, set())
        assert session.config(settings).artifacts_always is expected
