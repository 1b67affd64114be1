"""Recovery time as a measure: after each fault heals, how long until every node holds every
envelope acknowledged by then, and until every reader has read them.

A monitor thread probes the nodes' databases (and the readers' progress) about once a second
after each heal.  When a recovery runs past its fault kind's budget, it takes the evidence at that
moment -- which node lacks which originator's envelopes, the TCP sockets of that node's network
namespace (``ss -tinoe``: a stalled sync stream shows its retransmissions and backoff there and
nowhere else) and the tail of its log -- because by the time the run ends the link has usually
recovered and the evidence is gone (the probing itself is :mod:`xmtpd_e2e.observe.recovery`'s,
shared with scenario runs).  The checker turns an over-budget recovery into a
``slow-recovery`` violation (:func:`slow_recoveries`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from xmtpd_e2e.explore.violation import Violation
from xmtpd_e2e.observe.recovery import Key, Recovery, RecoveryProbe

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.explore.readers import ReaderThread

__all__ = ["Recovery", "RecoveryMonitor", "slow_recoveries", "budget_for"]

LOG_TAIL_LINES = 200


def budget_for(kind: str, budgets: Mapping[str, float]) -> float | None:
    return budgets.get(kind, budgets.get("*"))


def slow_recoveries(recoveries: Iterable[Recovery], budgets: Mapping[str, float], end: float) -> list[Violation]:
    """A recovery past its kind's budget (or never, by ``end``) is a violation with its evidence."""
    violations = []
    for r in recoveries:
        budget = budget_for(r.kind, budgets)
        took = r.seconds if r.seconds is not None else end - r.healed_at
        if budget is None or took <= budget:
            continue
        state = f"took {took:.1f}s" if r.seconds is not None else f"had not happened {took:.1f}s later"
        lagging = "; ".join(f"{node} lacked originator(s) {origs}" for node, origs in sorted(r.behind.items()))
        violations.append(
            Violation(
                "slow-recovery",
                f"after {r.kind} on {r.target} healed, replicating the {r.acknowledged} envelopes acknowledged "
                f"by then {state} (budget {budget:g}s)" + (f": at the budget's end {lagging}" if lagging else ""),
                None,
                {**r.to_dict(), "budget_seconds": budget},
            )
        )
    return violations


# -- measuring on a real cluster -------------------------------------------------------------------


class RecoveryMonitor(RecoveryProbe):
    """Measures each heal's recovery (see module docstring); :meth:`finish` stops it."""

    def __init__(
        self,
        env: Environment,
        acknowledged: Callable[[], dict[Key, str]],
        readers: list[ReaderThread],
        budgets: Mapping[str, float],
    ) -> None:
        def readers_caught_up(wanted: dict[Key, str]) -> bool | None:
            return all(x.caught_up(wanted) for x in readers) if readers else None

        super().__init__(env.nodes, acknowledged, readers_caught_up, name="explore-recovery", overdue=self._overdue)
        self.env = env
        self.readers = readers
        self.budgets = dict(budgets)

    def budget(self, kind: str) -> float | None:
        return budget_for(kind, self.budgets)

    def _overdue(self, recovery: Recovery, lacking: dict[str, set[Key]]) -> None:
        recovery.behind = {alias: sorted({o for o, _ in keys}) for alias, keys in lacking.items()}
        recovery.evidence = _evidence(self.env, sorted(lacking))


def _evidence(env: Environment, aliases: list[str]) -> dict[str, str]:
    """Sockets of every service (both ends of a stalled link) and the lagging nodes' log tails."""
    from xmtpd_e2e.faults.namespace import has_own_namespace, tcp_sockets

    evidence: dict[str, str] = {}
    if os.geteuid() == 0:
        for name, service in env.runtime.services().items():
            try:
                namespace = service.network_namespace()
                if namespace is not None and has_own_namespace(namespace):
                    evidence[f"sockets/{name}"] = tcp_sockets(str(namespace))
            except Exception as error:  # evidence is worth trying, not worth failing for
                evidence[f"sockets/{name}"] = f"could not read: {error}"
    for node in env.nodes():
        if node.alias in aliases:
            try:
                evidence[f"log/{node.alias}"] = "\n".join(node.logs().splitlines()[-LOG_TAIL_LINES:])
            except Exception as error:
                evidence[f"log/{node.alias}"] = f"could not read: {error}"
    return evidence
