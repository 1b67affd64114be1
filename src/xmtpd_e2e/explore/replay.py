"""The exploration record: one JSON file that holds everything needed to understand and re-run.

It keeps the seed, the schedule (cluster and faults), the workload (payers, publishers and, when
the plan has them, real users and their sends), the history, the healed databases and the verdict, plus what shrinking found.  ``explore --replay
FILE`` reads the schedule and workload back and runs exactly that plan again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.explore.execute import Exploration
from xmtpd_e2e.explore.schedule import Schedule

__all__ = ["RECORD_FORMAT", "record_of", "write_record", "load_schedule"]

RECORD_FORMAT = "xmtpd-e2e-explore/1"
_WORKLOAD_KEYS = ("payers", "publishers", "users", "user_sends")
"""The plan's workload; ``users`` and ``user_sends`` only in a plan with real users."""


def record_of(exploration: Exploration, *, command: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    data = exploration.to_dict()
    schedule = data.pop("schedule")
    return {
        "format": RECORD_FORMAT,
        "seed": exploration.schedule.seed,
        "command": command,
        "settings": dict(settings),
        "schedule": {k: v for k, v in schedule.items() if k not in _WORKLOAD_KEYS},
        "workload": {k: schedule[k] for k in _WORKLOAD_KEYS if k in schedule},
        **data,
    }


def write_record(path: Path, record: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, default=str) + "\n")
    return path


def load_schedule(path: Path) -> tuple[Schedule, dict[str, Any]]:
    """The schedule and settings of a record written by explore; a clear error otherwise."""
    fix = "pass a file written by `xmtpd-e2e explore` (explore-<seed>.json or explore-<seed>-min.json)"
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise SetupError(f"cannot read the replay file {path}: {error.strerror or error}", fix) from None
    except ValueError as error:
        raise SetupError(f"the replay file {path} is not JSON: {error}", fix) from None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        raise SetupError(f'{path} is not an explore record (no "format": "{RECORD_FORMAT}")', fix)
    try:
        schedule = Schedule.from_dict({**data["schedule"], **data["workload"]})
    except (KeyError, TypeError, ValueError) as error:
        raise SetupError(
            f"the schedule in {path} is incomplete or malformed ({type(error).__name__}: {error})", fix
        ) from None
    return schedule, dict(data.get("settings", {}))
