"""Explore: seeded random workloads and fault schedules, a history checker, replay and shrinking.

From Python::

    from xmtpd_e2e.explore import GenerationOptions, generate, run_schedule

    schedule = generate(seed=7, options=GenerationOptions(duration=60, nodes=3))
    history, final_state, verdict = run_schedule(env, schedule)   # inside a scenario
    assert verdict.ok, verdict.violations

The command ``xmtpd-e2e explore`` does the same in fresh environments, records every run as a
replayable JSON file, and shrinks a failure to a small schedule and a scenario module.
"""

from xmtpd_e2e.explore.checker import CheckOptions, Verdict, Violation, check
from xmtpd_e2e.explore.execute import ExecutionOptions, Exploration, execute_schedule, explore_once, run_schedule
from xmtpd_e2e.explore.fault_kinds import FAULT_KINDS, FaultKind, register
from xmtpd_e2e.explore.final_state import FinalState, NodeState
from xmtpd_e2e.explore.history import History, Operation
from xmtpd_e2e.explore.schedule import GenerationOptions, Schedule, generate

__all__ = [
    "CheckOptions",
    "Verdict",
    "Violation",
    "check",
    "ExecutionOptions",
    "Exploration",
    "execute_schedule",
    "explore_once",
    "run_schedule",
    "FAULT_KINDS",
    "FaultKind",
    "register",
    "FinalState",
    "NodeState",
    "History",
    "Operation",
    "GenerationOptions",
    "Schedule",
    "generate",
]
