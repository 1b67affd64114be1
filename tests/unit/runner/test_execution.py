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
    cfg = RunConfig(home=tmp_path / "home", artifacts_dir=tmp_path / "artifacts")
    result = Runner(cfg, fakes.factory).run([fakes.registry.get("interrupts-itself"), fakes.registry.get("passes")])  # type: ignore[list-item]
    assert [e for e in fakes.events(event_file) if e["event"] == "close"][0]["scenario"] == "interrupts-itself"
    assert [e["scenario"] for e in fakes.events(event_file) if e["event"] == "start"] == ["interrupts-itself"]
    # The row that was running and the one that never started are both marked, and the exit code
    # is the shell's for SIGINT, not 1 (a failed scenario).
    assert [(s.name, s.status) for s in result.scenarios] == [
        ("interrupts-itself", Status.INTERRUPTED),
        ("passes", Status.INTERRUPTED),
    ]
    assert "not run" in (result.scenarios[1].error or "")
    assert result.interrupted_by == "SIGINT" and result.exit_code() == 130


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


def test_an_interrupted_write_of_the_run_record_leaves_no_partial_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    state = RunState.create(tmp_path / "home")
    real_replace = os.replace

    def interrupted_replace(src: str, dst: str) -> None:
        raise KeyboardInterrupt  # Ctrl-C between writing the new copy and moving it in place

    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        state.record("directory", str(tmp_path / "x"))
    monkeypatch.setattr(os, "replace", real_replace)
    assert [p.name for p in state.path.parent.iterdir()] == [state.path.name]


def test_cleanup_removes_partial_writes_of_dead_writers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    state = RunState.create(home)
    dead = state.path.parent / f"{state.run_id}.tmp999999999.1"  # no such pid
    dead.write_text('{"run_id": ')
    live = state.path.parent / f"{state.run_id}.tmp{__import__('os').getpid()}.1"
    live.write_text("{}")
    assert RunState.remove_partial_writes(home) == [dead]
    assert not dead.exists() and live.exists()
    state.discard()
    assert list(state.path.parent.iterdir()) == []


def test_a_passing_run_leaves_nothing_on_disk(tmp_path: Path, event_file: Path) -> None:
    cfg = RunConfig(home=tmp_path / "home", artifacts_dir=tmp_path / "artifacts")
    state = RunState.create(cfg.home)
    result = Runner(cfg, fakes.factory, run_state=state).run([fakes.registry.get("passes")])  # type: ignore[list-item]
    assert [s.status for s in result.scenarios] == [Status.PASS] and result.scenarios[0].log_file is None
    assert not (tmp_path / "artifacts").exists(), list((tmp_path / "artifacts").rglob("*"))
    assert list(RunState.directory(cfg.home).iterdir()) == []
