"""A paced worker's turn: waited for after bring-up, given back at the verdict, never on its clock."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.errors import Interrupted
from xmtpd_e2e.runner.execution import Runner
from xmtpd_e2e.runner.results import Status
from xmtpd_e2e.runner.slots import NOT_GIVEN, RELEASED, PipeSlot
from xmtpd_e2e.record import RunState

from . import fakes


class SlowSlot:
    """A slot that comes after ``delay`` seconds, recording when it is waited for and released."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def wait(self) -> None:
        fakes.record("slot-wait")
        time.sleep(self.delay)

    def release(self) -> None:
        fakes.record("slot-release")


@pytest.fixture()
def event_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "events.jsonl"
    monkeypatch.setenv(fakes.EVENTS_FILE, str(path))
    return path


def run_paced(tmp_path: Path, name: str, slot: SlowSlot, **config: object) -> Status:
    cfg = RunConfig(home=tmp_path / "home", artifacts_dir=tmp_path / "artifacts", **config)  # type: ignore[arg-type]
    result = Runner(cfg, fakes.factory, run_state=RunState.create(cfg.home), slot=slot).run(
        [fakes.registry.get(name)]  # type: ignore[list-item]
    )
    return result.scenarios[0]  # type: ignore[return-value]


def test_the_slot_is_waited_for_after_bring_up_and_released_before_artifacts_and_teardown(
    tmp_path: Path, event_file: Path
) -> None:
    outcome = run_paced(tmp_path, "crashes", SlowSlot(0.0))
    order = [e["event"] for e in fakes.events(event_file)]
    assert order == ["start", "slot-wait", "slot-release", "artifacts", "close"], order
    assert outcome.status is Status.ERROR  # type: ignore[attr-defined]


def test_waiting_for_the_slot_is_neither_in_the_duration_nor_against_the_timeout(
    tmp_path: Path, event_file: Path
) -> None:
    outcome = run_paced(tmp_path, "passes", SlowSlot(1.5), scenario_timeout=1.0, timeout_given=True)
    assert outcome.status is Status.PASS, outcome.error  # type: ignore[attr-defined]
    assert outcome.duration_seconds < 1.0  # type: ignore[attr-defined]
    phases = [e["name"] for e in outcome.timeline if e["kind"] == "phase"]  # type: ignore[attr-defined]
    assert "waiting_for_slot" in phases


def test_a_scenario_s_own_set_up_runs_before_its_turn_and_counts_in_its_duration(
    tmp_path: Path, event_file: Path
) -> None:
    outcome = run_paced(tmp_path, "sets-up", SlowSlot(0.5))
    assert outcome.status is Status.PASS, outcome.error  # type: ignore[attr-defined]
    order = [e["event"] for e in fakes.events(event_file)]
    assert order == ["start", "set-up", "slot-wait", "body", "invariants", "slot-release", "close"], order
    assert 0.3 <= outcome.duration_seconds < 0.5  # type: ignore[attr-defined]
    phases = [e["name"] for e in outcome.timeline if e["kind"] == "phase"]  # type: ignore[attr-defined]
    assert phases.index("setup") < phases.index("waiting_for_slot") < phases.index("scenario")


def test_a_failing_set_up_fails_the_scenario_without_running_it_or_taking_a_turn(
    tmp_path: Path, event_file: Path
) -> None:
    outcome = run_paced(tmp_path, "set-up-fails", SlowSlot(0.0))
    assert outcome.status is Status.FAIL and "nodes ready" in str(outcome.error)  # type: ignore[attr-defined]
    order = [e["event"] for e in fakes.events(event_file)]
    assert "body" not in order and "slot-wait" not in order, order


def test_a_set_up_that_fails_releases_the_slot_it_never_waited_for(tmp_path: Path, event_file: Path) -> None:
    outcome = run_paced(tmp_path, "setup-broken", SlowSlot(0.0))
    assert outcome.status is Status.SETUP_ERROR  # type: ignore[attr-defined]
    order = [e["event"] for e in fakes.events(event_file)]
    assert "slot-wait" not in order and "slot-release" in order, order


def test_the_pipe_slot_goes_on_go_and_ends_on_end_of_input() -> None:
    told = io.StringIO()
    PipeSlot(io.StringIO("go\n"), told).wait()
    with pytest.raises(Interrupted, match=NOT_GIVEN):
        PipeSlot(io.StringIO(""), told).wait()
    slot = PipeSlot(io.StringIO(""), told)
    print_before = "a scenario's own print without a newline"
    told.write(print_before)
    slot.release()
    slot.release()
    assert told.getvalue().splitlines() == [print_before, RELEASED]
