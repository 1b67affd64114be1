"""Recovery time as a measure: within budget passes, past it (or never) is a slow-recovery with the
evidence taken at the budget's end; recoveries travel in the history and reach the verdict."""

from __future__ import annotations

from dataclasses import replace

from xmtpd_e2e.explore.checker import CheckOptions, check
from xmtpd_e2e.explore.history import History
from xmtpd_e2e.explore.recovery import Recovery, budget_for, slow_recoveries

from .test_checker import STORED, T0, VALID, final, node

STALLED = Recovery(
    "packet-loss",
    "node-300",
    T0 + 40,
    1200,
    replicated_at=T0 + 190,
    readers_at=T0 + 195,
    behind={"node-200": [300]},
    evidence={"sockets/node-300": "ESTAB ... retrans:0/12 backoff:7", "log/node-200": "..."},
)
QUICK = Recovery("kill", "node-200", T0 + 10, 300, replicated_at=T0 + 14)


def test_a_budget_per_kind_with_a_default() -> None:
    assert budget_for("kill", {"kill": 30, "*": 60}) == 30 and budget_for("pause", {"*": 60}) == 60
    assert budget_for("pause", {}) is None


def test_within_budget_or_without_one_is_only_measured() -> None:
    assert slow_recoveries([STALLED, QUICK], {}, T0 + 300) == []
    assert slow_recoveries([QUICK], {"kill": 5}, T0 + 300) == []
    assert QUICK.seconds == 4.0 and STALLED.reader_seconds == 155.0


def test_past_its_budget_a_recovery_is_a_violation_with_its_evidence() -> None:
    (violation,) = slow_recoveries([STALLED, QUICK], {"*": 60}, T0 + 300)
    assert violation.kind == "slow-recovery"
    assert (
        "took 150.0s (budget 60s)" in violation.message and "node-200 lacked originator(s) [300]" in violation.message
    )
    assert violation.details["evidence"]["sockets/node-300"].endswith("backoff:7")


def test_a_recovery_that_never_happened_counts_until_the_end() -> None:
    never = replace(QUICK, replicated_at=None)
    (violation,) = slow_recoveries([never], {"kill": 30}, T0 + 100)
    assert "had not happened 90.0s later" in violation.message


def test_recoveries_travel_in_the_history_and_reach_the_verdict() -> None:
    history = History.from_dict(replace(VALID, recoveries=[STALLED, QUICK]).to_dict())
    assert history.recoveries == [STALLED, QUICK]
    verdict = check(history, final(node(100, STORED)), CheckOptions(recovery_budgets={"packet-loss": 120}))
    assert verdict.kinds() == {"slow-recovery"}
    assert verdict.stats["recovery_seconds"][0] == {
        "kind": "packet-loss",
        "target": "node-300",
        "replicated": 150.0,
        "readers": 155.0,
    }
