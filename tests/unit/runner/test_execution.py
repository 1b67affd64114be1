"""The runner's verdicts and its guaranteed teardown, with a fake environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.runner.execution import Runner
from xmtpd_e2e.runner.results import Status
from xmtpd_e2e.record import RunState

from . import fakes


@pytest.fixture()
def event_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "events.jsonl"
    monkeypatch.setenv(fakes.EVENTS_FILE, str(path))
    return path


def run(tmp_path: Path, *names: str, **config: object) -> tuple[list[Status], list[object]]:
    cfg = RunConfig(home=tmp_path / "home", artifacts_dir=tmp_path / "artifacts", **config)  # type: ignore[arg-type]
    runner = Runner(cfg, fakes.factory, run_state=RunState.create(cfg.home))
    result = runner.run([fakes.registry.get(n) for n in names])  # type: ignore[misc]
    return [s.status for s in result.scenarios], result.scenarios


def test_pass_fail_error_are_told_apart(tmp_path: Path, event_file: Path) -> None:
    statuses, results = run(tmp_path, "passes", "check-fails", "assert-fails", "crashes")
    assert statuses == [Status.PASS, Status.FAIL, Status.FAIL, Status.ERROR]
    assert "node 100 envelopes: expected 3, got 2" in results[1].error  # type: ignore[attr-defined]
    assert results[3].traceback and "KeyError: 'boom'" in results[3].traceback  # type: ignore[attr-defined]
    assert results[1].traceback is not None  # type: ignore[attr-defined]
    closes = [e["scenario"] for e in fakes.events(event_file) if e["event"] == "close"]
    assert closes == ["passes", "check-fails", "assert-fails", "crashes"]


def test_artifacts_only_for_failures_with_the_scenario_log(tmp_path: Path, event_file: Path) -> None:
    _, results = run(tmp_path, "passes", "crashes")
    assert results[0].artifacts == []  # type: ignore[attr-defined]
    artifacts = results[1].artifacts  # type: ignore[attr-defined]
    assert any(a.endswith("fake.txt") for a in artifacts)
    log = next(a for a in artifacts if a.endswith("scenario.log"))
    assert "KeyError" in Path(log).read_text()


def test_artifacts_always(tmp_path: Path, event_file: Path) -> None:
    _, results = run(tmp_path, "passes", artifacts_always=True)
    assert results[0].artifacts  # type: ignore[attr-defined]


def test_invariants_fail_a_scenario_unless_it_opts_out(tmp_path: Path, event_file: Path) -> None:
    statuses, results = run(tmp_path, "invariant-broken", "invariants-skipped")
    assert statuses == [Status.FAIL, Status.PASS]
    assert "100:7" in results[0].error  # type: ignore[attr-defined]
    checked = [e["scenario"] for e in fakes.events(event_file) if e["event"] == "invariants"]
    assert checked == ["invariant-broken"]


def test_a_hanging_scenario_is_stopped_at_its_timeout_and_torn_down(tmp_path: Path, event_file: Path) -> None:
    statuses, results = run(tmp_path, "hangs", "passes", scenario_timeout=1.0, timeout_given=True)
    assert statuses == [Status.TIMEOUT, Status.PASS]
    assert "timeout" in results[0].error  # type: ignore[attr-defined]
    assert {"event": "close", "scenario": "hangs", "fast": False} in fakes.events(event_file)


def test_sigint_tears_down_and_stops_the_run(tmp_path: Path, event_file: Path) -> None:
    statuses, _ = run(tmp_path, "interrupts-itself", "passes")
    assert statuses == [Status.INTERRUPTED]
    assert [e for e in fakes.events(event_file) if e["event"] == "close"][0]["scenario"] == "interrupts-itself"


def test_setup_error_stops_the_run(tmp_path: Path, event_file: Path) -> None:
    cfg = RunConfig(home=tmp_path / "home", artifacts_dir=tmp_path / "a")
    result = Runner(cfg, fakes.factory).run([fakes.registry.get("setup-broken"), fakes.registry.get("passes")])  # type: ignore[list-item]
    assert [s.status for s in result.scenarios] == [Status.SETUP_ERROR]
    assert result.exit_code() == 2
    assert "no Docker engine answers" in (result.scenarios[0].error or "")


def test_resources_of_a_half_built_environment_are_removed_by_the_runner(tmp_path: Path, event_file: Path) -> None:
    cfg = RunConfig(home=tmp_path / "home", artifacts_dir=tmp_path / "artifacts")
    state = RunState.create(cfg.home)
    result = Runner(cfg, fakes.factory, run_state=state).run([fakes.registry.get("half-built")])  # type: ignore[list-item]
    assert [s.status for s in result.scenarios] == [Status.SETUP_ERROR]
    created = [e for e in fakes.events(event_file) if e["event"] == "created"]
    assert created and not Path(created[0]["path"]).exists()
    assert not state.path.exists() and not state.work_dir.exists()
