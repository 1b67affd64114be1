"""Shrinking on a fake executor, the replay record, the generated scenario module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.explore.checker import Verdict, Violation
from xmtpd_e2e.explore.execute import Exploration
from xmtpd_e2e.explore.replay import load_schedule, record_of, write_record
from xmtpd_e2e.explore.scenario_module import scenario_name, scenario_source
from xmtpd_e2e.explore.schedule import GenerationOptions, Schedule, generate
from xmtpd_e2e.explore.shrink import MIN_DURATION, candidates, shrink
from xmtpd_e2e.runner.scenario import Registry


def crowded(schedule: Schedule) -> bool:
    """A stand-in bug: it shows whenever three publishers send into one node."""
    aliases = schedule.cluster.aliases
    return any(sum(p.target == a for p in schedule.publishers) >= 3 for a in aliases)


def fake_run(schedule: Schedule) -> Exploration:
    violations = [Violation("liveness", "stalled", 100)] if crowded(schedule) else []
    return Exploration(schedule, "FAIL" if violations else "PASS", verdict=Verdict(violations, {}))


def test_every_candidate_is_smaller() -> None:
    schedule = generate(5, GenerationOptions(duration=60, gateways=1, faults_per_minute=6))
    for _, candidate in candidates(schedule):
        assert candidate.size() < schedule.size()


def test_shrinking_keeps_the_failure_and_drops_everything_else() -> None:
    seed = next(s for s in range(100) if crowded(generate(s, GenerationOptions(duration=60, max_publishers=8))))
    original = fake_run(generate(seed, GenerationOptions(duration=60, max_publishers=8)))
    result = shrink(original, fake_run, budget=200)
    minimal = result.schedule
    assert crowded(minimal) and result.exploration.failed
    assert minimal.faults == () and len(minimal.publishers) == 3 and len(minimal.cluster.nodes) == 1
    assert MIN_DURATION <= minimal.duration < 60
    assert all(p.batch_size == 1 for p in minimal.publishers)
    assert result.accepted and result.runs == len(result.steps)


def test_shrinking_stops_at_its_budget_and_on_an_interrupt() -> None:
    seed = next(s for s in range(100) if crowded(generate(s, GenerationOptions(max_publishers=8))))
    original = fake_run(generate(seed, GenerationOptions(max_publishers=8)))
    assert shrink(original, fake_run, budget=2).runs == 2
    interrupted = shrink(original, lambda s: Exploration(s, "INTERRUPTED", error="SIGINT"), budget=20)
    assert interrupted.runs == 1 and interrupted.stopped and interrupted.schedule == original.schedule


def test_a_record_replays_the_same_schedule(tmp_path: Path) -> None:
    schedule = generate(11, GenerationOptions(duration=30))
    record = record_of(
        Exploration(schedule, "PASS", verdict=Verdict([], {})),
        command="xmtpd-e2e explore",
        settings={"runtime": "local"},
    )
    assert {"seed", "schedule", "workload", "history", "verdict"} <= set(record)
    path = write_record(tmp_path / "r.json", record)
    replayed, settings = load_schedule(path)
    assert replayed == schedule and settings == {"runtime": "local"}


@pytest.mark.parametrize(
    "content, problem",
    [
        (None, "cannot read the replay file"),
        ("{not json", "is not JSON"),
        ('{"format": "something-else"}', "is not an explore record"),
        ('{"format": "xmtpd-e2e-explore/1", "schedule": {}, "workload": {}}', "incomplete or malformed"),
    ],
)
def test_a_bad_replay_file_is_a_clear_setup_error(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SetupError, match=problem) as error:
        load_schedule(path)
    assert "xmtpd-e2e explore" in error.value.fix


def test_the_scenario_module_compiles_and_registers_under_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    schedule = generate(4, GenerationOptions(duration=20))
    verdict = Verdict([Violation("liveness", "3 publish(es) to node-100 with no fault on it failed", 100)], {})
    source = scenario_source(schedule, verdict, command="xmtpd-e2e explore --seed 4")
    assert scenario_name(schedule, verdict) == "explore-seed-4-liveness"
    registry = Registry()
    monkeypatch.setattr("xmtpd_e2e.runner.scenario.REGISTRY", registry)
    exec(compile(source, "generated", "exec"), {"__name__": "generated"})
    info = registry.get("explore-seed-4-liveness")
    assert info is not None and info.invariants_skipped
    assert "xmtpd-e2e explore --seed 4" in source and "publisher p0" in source
    assert json.dumps(schedule.to_dict())  # the embedded literal is plain data


def test_a_failure_that_shows_only_sometimes_gets_more_attempts() -> None:
    runs: list[int] = []

    def flaky(schedule: Schedule) -> Exploration:
        runs.append(1)
        return fake_run(schedule) if len(runs) % 2 == 0 else Exploration(schedule, "PASS", verdict=Verdict([], {}))

    seed = next(s for s in range(100) if crowded(generate(s, GenerationOptions(max_publishers=8))))
    original = fake_run(generate(seed, GenerationOptions(max_publishers=8)))
    once = shrink(original, flaky, budget=1, attempts=1)
    assert once.schedule == original.schedule
    runs.clear()
    twice = shrink(original, flaky, budget=2, attempts=2)
    assert twice.runs == 2 and twice.schedule != original.schedule and twice.steps[-1].still_fails


def test_shrinking_for_a_chosen_kind_ignores_smaller_schedules_failing_otherwise() -> None:
    seed = next(s for s in range(100) if crowded(generate(s, GenerationOptions(max_publishers=8))))
    original = fake_run(generate(seed, GenerationOptions(max_publishers=8)))
    result = shrink(original, fake_run, budget=10, kinds=("duplicate",))
    assert result.schedule == original.schedule and not result.accepted
