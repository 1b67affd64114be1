"""A timeout says where it struck -- phase, line, the wait in progress -- and prints no traceback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runner.execution import Runner
from xmtpd_e2e.runner.results import Status
from xmtpd_e2e.runner.scenario import Registry, scenario

from . import fakes

registry = Registry()


@scenario("waits-for-replication", "waits for something that never comes", registry=registry)
def waits_for_replication(env: Any) -> None:
    wait_until(lambda: 0, lambda n: n > 0, timeout=60, description="node 200 to hold 10 envelopes")


@scenario("sleeps", "sleeps outside any framework wait", registry=registry)
def sleeps(env: Any) -> None:
    time.sleep(60)


def run_one(tmp_path: Path, name: str) -> Any:
    config = RunConfig(home=tmp_path / "home", artifacts_dir=tmp_path / "a", scenario_timeout=1.0, timeout_given=True)
    runner = Runner(config, fakes.factory, run_state=RunState.create(config.home))
    return runner.run([registry.get(name)]).scenarios[0]  # type: ignore[list-item]


def test_a_timeout_in_a_wait_names_the_phase_and_the_wait(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_one(tmp_path, "waits-for-replication")
    assert result.status is Status.TIMEOUT
    assert "1s timeout during scenario" in result.error
    assert "waiting for node 200 to hold 10 envelopes" in result.error
    assert result.traceback is None
    assert "Traceback" not in capsys.readouterr().err


def test_a_timeout_outside_a_wait_names_the_line(tmp_path: Path) -> None:
    result = run_one(tmp_path, "sleeps")
    assert result.status is Status.TIMEOUT
    assert "at test_timeout_message.py:" in result.error and "in sleeps" in result.error
    assert "no framework wait was in progress" in result.error
