"""A shrunk failure as a scenario module a person can paste into their catalogue.

The module embeds the exact schedule and runs it with :func:`xmtpd_e2e.explore.run_schedule`, so
it fails for the same reason as long as xmtpd has the bug, and passes once it is fixed.  Its
docstring says in words what the schedule does and what was found.
"""

from __future__ import annotations

import pprint
import re

from xmtpd_e2e.explore.checker import Verdict
from xmtpd_e2e.explore.schedule import Schedule

__all__ = ["scenario_source", "scenario_name"]


def scenario_name(schedule: Schedule, verdict: Verdict) -> str:
    kinds = "-".join(sorted(verdict.kinds())) or "pass"
    return re.sub(r"[^a-z0-9-]+", "-", f"explore-seed-{schedule.seed}-{kinds}".lower())


def scenario_source(schedule: Schedule, verdict: Verdict, *, command: str) -> str:
    name = scenario_name(schedule, verdict)
    function = name.replace("-", "_")
    found = "\n".join(f"- {v.kind}: {v.message}" for v in verdict.violations[:5])
    plan = "\n".join(f"- {line}" for line in schedule.describe())
    literal = pprint.pformat(schedule.to_dict(), indent=1, width=100, sort_dicts=False)
    summary = verdict.violations[0].message if verdict.violations else "passes"
    description = (summary[:100] + "…") if len(summary) > 100 else summary
    # Real users need libxmtp and the MLS validation service: a run without them refuses it.
    requires = '\n          requires=("mls-validation", "xmtp-users"),' if schedule.users else ""
    return f'''"""Found by `{command}`, then shrunk.

What it runs:
{plan}

What it found:
{found}
"""

from xmtpd_e2e import Environment, scenario
from xmtpd_e2e.explore import Schedule, run_schedule

SCHEDULE = Schedule.from_dict(
{literal}
)


@scenario({name!r}, {description!r},
          typical_seconds={schedule.duration + 30:.0f},{requires}
          skip_invariants="explore's checker verifies every acknowledged envelope, sequences, clocks and usage")
def {function}(env: Environment) -> None:
    _, _, verdict = run_schedule(env, SCHEDULE)
    assert verdict.ok, "; ".join(v.message for v in verdict.violations)
'''
