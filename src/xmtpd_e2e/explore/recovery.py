"""Recovery time as a measure: after each fault heals, how long until every node holds every
envelope acknowledged by then, and until every reader has read them.

A monitor thread probes the nodes' databases (and the readers' progress) about once a second
after each heal.  When a recovery runs past its fault kind's budget, it takes the evidence at that
moment -- which node lacks which originator's envelopes, the TCP sockets of that node's network
namespace (``ss -tinoe``: a stalled sync stream shows its retransmissions and backoff there and
nowhere else) and the tail of its log -- because by the time the run ends the link has usually
recovered and the evidence is gone.  The checker turns an over-budget recovery into a
``slow-recovery`` violation (:func:`slow_recoveries`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.explore.violation import Violation

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.explore.readers import ReaderThread

__all__ = ["Recovery", "RecoveryMonitor", "slow_recoveries", "budget_for"]

log = logging.getLogger("xmtpd_e2e.explore.recovery")
PROBE_SECONDS = 1.0
LOG_TAIL_LINES = 200

Key = tuple[int, int]


@dataclass
class Recovery:
    kind: str
    target: str
    healed_at: float
    acknowledged: int
    """Envelopes acknowledged before the heal: what every node must then hold."""
    replicated_at: float | None = None
    readers_at: float | None = None
    """When every reader had read them (None: not within the run, or no readers)."""
    behind: dict[str, list[int]] = field(default_factory=dict)
    """At the budget's end: node alias -> originators whose envelopes it still lacked."""
    evidence: dict[str, str] = field(default_factory=dict)
    """Taken at the budget's end: ``sockets/<service>`` and ``log/<node>`` texts."""

    @property
    def seconds(self) -> float | None:
        return None if self.replicated_at is None else round(self.replicated_at - self.healed_at, 2)

    @property
    def reader_seconds(self) -> float | None:
        return None if self.readers_at is None else round(self.readers_at - self.healed_at, 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "healed_at": round(self.healed_at, 3),
            "acknowledged": self.acknowledged,
            "replicated_at": None if self.replicated_at is None else round(self.replicated_at, 3),
            "readers_at": None if self.readers_at is None else round(self.readers_at, 3),
            "recovery_seconds": self.seconds,
            "reader_recovery_seconds": self.reader_seconds,
            "behind": self.behind,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recovery:
        return cls(
            str(data["kind"]),
            str(data["target"]),
            float(data["healed_at"]),
            int(data["acknowledged"]),
            None if data.get("replicated_at") is None else float(data["replicated_at"]),
            None if data.get("readers_at") is None else float(data["readers_at"]),
            {str(k): [int(o) for o in v] for k, v in data.get("behind", {}).items()},
            {str(k): str(v) for k, v in data.get("evidence", {}).items()},
        )


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


@dataclass
class _Pending:
    recovery: Recovery
    acknowledged: dict[Key, str]
    """Key -> topic of every envelope acknowledged before the heal."""
    keys: set[Key]
    deadline: float | None


class RecoveryMonitor(threading.Thread):
    """Measures each heal's recovery (see module docstring); :meth:`finish` stops it."""

    def __init__(
        self,
        env: Environment,
        acknowledged: Callable[[], dict[Key, str]],
        readers: list[ReaderThread],
        budgets: Mapping[str, float],
    ) -> None:
        super().__init__(name="explore-recovery", daemon=True)
        self.env = env
        self.acknowledged = acknowledged
        self.readers = readers
        self.budgets = dict(budgets)
        self.recoveries: list[Recovery] = []
        self._pending: list[_Pending] = []
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def healed(self, kind: str, target: str) -> None:
        acknowledged = self.acknowledged()
        now = time.time()
        budget = budget_for(kind, self.budgets)
        recovery = Recovery(kind, target, now, len(acknowledged))
        with self._lock:
            self.recoveries.append(recovery)
            self._pending.append(
                _Pending(recovery, acknowledged, set(acknowledged), None if budget is None else now + budget)
            )

    def finish(self, grace: float) -> list[Recovery]:
        """Keep probing up to ``grace`` seconds for recoveries still open, then stop."""
        deadline = time.monotonic() + grace
        while self._open() and time.monotonic() < deadline and self.is_alive():
            self._halt.wait(PROBE_SECONDS)
        self._halt.set()
        self.join(10.0)
        return list(self.recoveries)

    def _open(self) -> bool:
        with self._lock:
            return any(p.recovery.replicated_at is None or p.recovery.readers_at is None for p in self._pending)

    def run(self) -> None:
        while not self._halt.wait(PROBE_SECONDS):
            with self._lock:
                pending = list(self._pending)
            if not pending:
                continue
            try:
                self._probe(pending)
            except Exception as error:  # a database briefly unreachable: probe again
                log.debug("recovery probe failed: %s", error)

    def _probe(self, pending: list[_Pending]) -> None:
        nodes = [n for n in self.env.nodes() if n.is_running]
        held = {n.alias: n.observer.envelope_keys(client_only=True) for n in nodes}
        now = time.time()
        for p in pending:
            r = p.recovery
            lacking = {alias: p.keys - keys for alias, keys in held.items() if p.keys - keys}
            if r.replicated_at is None and not lacking:
                r.replicated_at = now
            if r.readers_at is None and self.readers and all(x.caught_up(p.acknowledged) for x in self.readers):
                r.readers_at = now
            if r.replicated_at is None and p.deadline is not None and now >= p.deadline and not r.evidence:
                r.behind = {alias: sorted({o for o, _ in keys}) for alias, keys in lacking.items()}
                r.evidence = _evidence(self.env, sorted(lacking))
        with self._lock:
            self._pending = [
                p for p in self._pending if p.recovery.replicated_at is None or p.recovery.readers_at is None
            ]
            if not self.readers:
                self._pending = [p for p in self._pending if p.recovery.replicated_at is None]


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
