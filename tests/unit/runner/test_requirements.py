"""Scenarios that declare a service the run cannot provide are refused up front, said why, and
the others still run."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.infra.binaries import VALIDATION_BIN_VARIABLE
from xmtpd_e2e.record import RunState
from xmtpd_e2e.runner.execution import Runner
from xmtpd_e2e.runner.requirements import MLS_VALIDATION, unmet_requirement
from xmtpd_e2e.runner.results import Status
from xmtpd_e2e.runner.scenario import Registry, scenario

from . import fakes

registry = Registry()


@scenario("needs-validation", "registers real users", requires=(MLS_VALIDATION,), registry=registry)
def needs_validation(env: Any) -> None:
    fakes.record("ran", scenario="needs-validation")


@scenario("needs-nothing", "publishes envelopes", registry=registry)
def needs_nothing(env: Any) -> None:
    fakes.record("ran", scenario="needs-nothing")


@pytest.fixture()
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "events.jsonl"
    monkeypatch.setenv(fakes.EVENTS_FILE, str(path))
    monkeypatch.delenv(VALIDATION_BIN_VARIABLE, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    return path


def _run(config: RunConfig) -> list[Any]:
    runner = Runner(config, fakes.factory, run_state=RunState.create(config.home))
    return runner.run([registry.get("needs-validation"), registry.get("needs-nothing")]).scenarios  # type: ignore[list-item]


def test_refused_with_the_reason_and_fix_while_the_others_run(tmp_path: Path, events: Path) -> None:
    config = RunConfig(runtime="local", home=tmp_path / "home", artifacts_dir=tmp_path / "artifacts")
    refused, ran = _run(config)
    assert (refused.status, ran.status) == (Status.SETUP_ERROR, Status.PASS)
    assert "needs-validation needs the mls-validation service" in refused.error
    assert "--mls-validation-bin" in refused.error  # the fix
    started = [e["scenario"] for e in fakes.events(events) if e["event"] in ("start", "ran")]
    assert started == ["needs-nothing", "needs-nothing"]  # no environment for the refused one


def test_runs_when_a_binary_is_configured(tmp_path: Path, events: Path) -> None:
    binary = tmp_path / "mls-validation-service"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    config = RunConfig(runtime="local", home=tmp_path / "home", mls_validation_bin=binary)
    assert unmet_requirement("s", (MLS_VALIDATION,), config) is None
    statuses = [s.status for s in _run(config)]
    assert statuses == [Status.PASS, Status.PASS]


def test_unknown_requirements_are_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="unknown requirement"):
        scenario("x", "y", requires=("gpu",), registry=Registry())(lambda env: None)
