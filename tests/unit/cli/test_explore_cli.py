"""``xmtpd-e2e explore`` input errors: exit 2, the problem named, nothing started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_cli import TESTS, cli, home  # noqa: F401  (home is a fixture)


def test_a_malformed_node_override_is_a_usage_error(home: dict[str, str]) -> None:  # noqa: F811
    result = cli("explore", "--node-env", "300-XMTPD_SYNC_ENABLE", env=home)
    assert result.returncode == 2
    assert "should look like 300:XMTPD_SYNC_ENABLE=false" in result.stderr


def test_an_unknown_fault_kind_is_a_usage_error_listing_the_known_ones(home: dict[str, str]) -> None:  # noqa: F811
    result = cli("explore", "--faults", "latency,flood", env=home)
    assert result.returncode == 2
    assert "unknown fault kind(s) flood" in result.stderr and "kill" in result.stderr


def test_a_replay_file_that_is_not_a_record_is_a_setup_error(home: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    bogus = tmp_path / "results.json"
    bogus.write_text('{"schema_version": 1}')
    result = cli("explore", "--replay", str(bogus), env=home)
    assert result.returncode == 2
    assert "is not an explore record" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_negative_seed_is_refused_before_anything_runs(home: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    result = cli("explore", "--seed", "-1", "--record-dir", str(tmp_path / "records"), env=home)
    assert result.returncode == 2
    assert "--seed" in result.stderr and "-1" in result.stderr and ">=0" in result.stderr.replace(" ", "")
    assert not (tmp_path / "records").exists()


def test_a_missing_replay_file_is_reported_before_images_are_resolved(home: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    missing = tmp_path / "nowhere.json"
    result = cli("explore", "--replay", str(missing), "--runtime", "docker", env=home)
    assert result.returncode == 2
    assert f"cannot read the replay file {missing}" in result.stderr
    assert "image" not in result.stderr.lower() and "Traceback" not in result.stderr


def test_a_broken_replay_file_is_named(home: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    broken = tmp_path / "explore-3.json"
    broken.write_text('{"format": "xmtpd-e2e-explore/1", "schedule": {')
    result = cli("explore", "--replay", str(broken), env=home)
    assert result.returncode == 2 and f"the replay file {broken} is not JSON" in result.stderr
    assert "image" not in result.stderr.lower()


def test_a_bad_recovery_budget_is_a_usage_error(home: dict[str, str]) -> None:  # noqa: F811
    result = cli("explore", "--recovery-budget", "packet-loss:60", env=home)
    assert result.returncode == 2 and "should look like packet-loss=60" in result.stderr


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_explore_exits_128_plus_the_signal_promptly(
    home: dict[str, str],  # noqa: F811
    tmp_path: Path,
    signum: signal.Signals,
    code: int,
) -> None:
    events = tmp_path / "events.jsonl"
    python_path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    environment = {
        **os.environ,
        "PYTHONPATH": python_path,
        "XMTPD_E2E_ENVIRONMENT_FACTORY": "unit.cli.explore_fakes:factory",
        **home,
        "XMTPD_E2E_TEST_EVENTS": str(events),
    }
    args = ["explore", "--seed", "3", "--runtime", "local", "--record-dir", str(tmp_path / "records")]
    process = subprocess.Popen(
        [sys.executable, "-m", "xmtpd_e2e.cli.main", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not events.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert events.exists(), "the fake environment never started"
    signalled = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert time.monotonic() - signalled < 10, "explore took long to stop"
    assert "INTERRUPTED" in stderr and "Traceback" not in stderr
