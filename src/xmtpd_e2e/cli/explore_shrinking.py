"""Shrinking a failed exploration from the command line: the smaller runs, then a minimal record
and a scenario module beside the original record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xmtpd_e2e.cli.explore_session import ExploreSession
    from xmtpd_e2e.explore.execute import Exploration

__all__ = ["shrink_and_record"]


def shrink_and_record(
    session: ExploreSession, exploration: Exploration, entry: dict[str, Any], settings: Mapping[str, Any]
) -> None:
    """Shrink ``exploration`` (each candidate a real run with the same settings); the minimal
    record, the scenario module and the steps go into ``entry`` and the original record."""
    from xmtpd_e2e.explore.replay import record_of, write_record
    from xmtpd_e2e.explore.scenario_module import scenario_source
    from xmtpd_e2e.explore.shrink import shrink

    params = session.params
    result = shrink(
        exploration,
        lambda s: session.execute(s, "shrink", settings),
        budget=params["shrink_budget"],
        attempts=params["shrink_attempts"],
        kinds=params["shrink_for"],
    )
    minimal = result.exploration
    seed = exploration.schedule.seed
    record_dir = params["record_dir"]
    minimal_record = record_of(minimal, command=session.command, settings={**settings, "shrunk_from": entry["record"]})
    minimal_path = write_record(record_dir / f"explore-{seed}-min.json", minimal_record)
    assert minimal.verdict is not None
    module_path = record_dir / f"explore_seed_{seed}_min.py"
    module_path.write_text(
        scenario_source(
            minimal.schedule, minimal.verdict, command=f"{session.command} (replay: --replay {minimal_path})"
        )
    )
    entry["shrink"] = {
        "runs": result.runs,
        "accepted": result.accepted,
        "stopped": result.stopped,
        "steps": [s.__dict__ for s in result.steps],
        "minimal_schedule": minimal.schedule.describe(),
        "minimal_verdict": minimal_record["verdict"],
        "record": str(minimal_path),
        "scenario_module": str(module_path),
    }
    record = record_of(exploration, command=session.command, settings=settings)
    record["shrink"] = entry["shrink"]
    write_record(record_dir / f"explore-{seed}.json", record)
