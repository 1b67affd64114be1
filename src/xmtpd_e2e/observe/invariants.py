"""Global invariants checked after every scenario (unless it opts out with a reason).

1. Every envelope any client published is stored on every node that is up and canonical,
   compared by (originator, sequence id) -- not by counts, which payer reports distort.
2. The vector clocks of those nodes agree.
3. No staged envelopes are left behind.

Replication is asynchronous, so each check is given time to converge; a violation names the node
and the missing envelopes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from xmtpd_e2e.observe.observer import NodeObserver
from xmtpd_e2e.progress import Progress, WaitTracker

__all__ = ["InvariantReport", "check_invariants"]

_LISTED = 20


@dataclass
class InvariantReport:
    violations: list[str] = field(default_factory=list)
    missing: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    """node id -> (originator, sequence id) pairs it lacks (for artifacts)."""

    @property
    def ok(self) -> bool:
        return not self.violations


def _format_missing(node_id: int, missing: list[tuple[int, int]], total: int) -> str:
    shown = ", ".join(f"{o}:{s}" for o, s in missing[:_LISTED])
    more = f" (+{len(missing) - _LISTED} more)" if len(missing) > _LISTED else ""
    return (
        f"node {node_id} is missing {len(missing)} of {total} published envelopes (originator:sequence) {shown}{more}"
    )


def check_invariants(
    observers: Mapping[int, NodeObserver],
    published: Iterable[tuple[int, int]],
    *,
    timeout: float = 60.0,
    interval: float = 0.5,
) -> InvariantReport:
    """Check the invariants over ``observers`` (node id -> observer of a node that is up and
    canonical), waiting up to ``timeout`` seconds for replication to converge."""
    expected = set(published)
    deadline = time.monotonic() + timeout
    tracker = Progress.current().track("the global invariants to hold", timeout=timeout)
    try:
        return _converge(observers, expected, deadline, interval, tracker)
    finally:
        tracker.done()


def _converge(
    observers: Mapping[int, NodeObserver],
    expected: set[tuple[int, int]],
    deadline: float,
    interval: float,
    tracker: WaitTracker,
) -> InvariantReport:
    while True:
        report = InvariantReport()
        clocks: dict[int, dict[int, int]] = {}
        for node_id, observer in sorted(observers.items()):
            if expected:
                missing = sorted(expected - observer.envelope_keys(client_only=True))
                if missing:
                    report.missing[node_id] = missing
                    report.violations.append(_format_missing(node_id, missing, len(expected)))
            clocks[node_id] = observer.vector_clock()
            staged = observer.staged_envelope_count()
            if staged:
                report.violations.append(f"node {node_id} has {staged} staged envelopes left")
        distinct = {tuple(sorted(clock.items())) for clock in clocks.values()}
        if len(distinct) > 1:
            described = "; ".join(
                f"node {node}: {dict(sorted(clock.items()))}" for node, clock in sorted(clocks.items())
            )
            report.violations.append(f"vector clocks differ: {described}")
        if report.ok or time.monotonic() >= deadline:
            return report
        if tracker.visible:
            tracker.update(f"{len(report.violations)} violation(s): {report.violations[0][:120]}")
        time.sleep(interval)
