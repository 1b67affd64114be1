"""The checker: a pure function of a history and the healed cluster's databases -> a verdict.

Properties (each violation names its kind, the node and the envelopes or operations involved):

* ``missing`` -- an acknowledged envelope is absent from a node that is up and canonical;
* ``mismatch`` -- a node stores another envelope under an acknowledged (originator, sequence id);
* ``duplicate`` -- one client envelope (topic) of the publishers is stored under two keys on a
  node, acknowledged or not;
* ``failed-stored`` -- an envelope whose publish was refused for sure is stored anyway;
* ``sequence-gap`` -- an originator's sequence ids on a node are not 1..max without holes
  (xmtpd's own sync logs every hole as an out-of-order envelope);
* ``sequence-order`` -- a publish that began after another one to the same originator had been
  acknowledged got a smaller sequence id;
* ``clock-divergence`` -- vector clocks of the nodes differ, or a clock disagrees with the
  envelopes its node stores;
* ``usage-mismatch`` -- unsettled usage per (payer, originator) differs between nodes or from the
  envelopes the node stores;
* ``staged-leftover`` -- accepted envelopes never left the staging table;
* ``fault-error`` -- (added by the executor) a fault could not be injected or healed, e.g. a
  killed node that does not come back;
* ``liveness`` -- a publish to a healthy target (no fault on it for ``grace`` seconds before and
  during the request) failed or took longer than ``slow_seconds``;
* ``read-*`` -- what readers saw (lost, gap, duplicate, order, mismatch, going back, unseen), see
  :mod:`xmtpd_e2e.explore.read_checker`;
* ``fee-mismatch`` -- a payer's usage, settled fees and chain debit differ, see
  :mod:`xmtpd_e2e.explore.fee_checker`;
* ``slow-recovery`` -- after a fault healed, the cluster took longer than its kind's budget to
  hold every acknowledged envelope everywhere, see :mod:`xmtpd_e2e.explore.recovery`;
* ``user-*`` -- what real users in a group got (lost, duplicate, order, phantom), see
  :mod:`xmtpd_e2e.explore.user_checker`.
"""

from __future__ import annotations

import bisect
import gc
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from xmtpd_e2e.explore.final_state import FinalState, NodeState
from xmtpd_e2e.explore.history import History, Operation
from xmtpd_e2e.explore.fee_checker import check_fees
from xmtpd_e2e.explore.read_checker import READ_VIOLATION_KINDS, check_reads
from xmtpd_e2e.explore.recovery import slow_recoveries
from xmtpd_e2e.explore.user_checker import USER_VIOLATION_KINDS, check_users
from xmtpd_e2e.explore.violation import Violation
from xmtpd_e2e.timeline import TimelineEvent

__all__ = ["Violation", "Verdict", "CheckOptions", "check", "VIOLATION_KINDS"]

VIOLATION_KINDS = (
    "missing",
    "mismatch",
    "duplicate",
    "failed-stored",
    "sequence-gap",
    "sequence-order",
    "clock-divergence",
    "usage-mismatch",
    "staged-leftover",
    "liveness",
    "fault-error",
    *READ_VIOLATION_KINDS,
    "fee-mismatch",
    "slow-recovery",
    *USER_VIOLATION_KINDS,
)
_LISTED = 10
CHAIN_ORIGINATORS = frozenset({0, 1})
"""xmtpd stores what it indexes from the app chain (group commits under 0, identity updates under
1) without a payer: no usage is counted for them (real users' traffic has them)."""


@dataclass
class Verdict:
    violations: list[Violation]
    stats: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def kinds(self) -> set[str]:
        return {v.kind for v in self.violations}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "violations": [v.to_dict() for v in self.violations],
            "stats": self.stats,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(
            [Violation.from_dict(v) for v in data["violations"]],
            dict(data.get("stats", {})),
            list(data.get("notes", [])),
        )


@dataclass(frozen=True)
class CheckOptions:
    grace_seconds: float = 20.0
    """How long after a fault on a target its publishes are still excused (reconnects, restarts)."""
    slow_seconds: float = 30.0
    """A publish to a healthy target taking longer than this is a liveness violation.  It is
    xmtpd's own bound: a node answers a publish once its envelopes are stored, waiting at most
    30 s.  A loaded machine makes healthy publishes take seconds; a stalled node fails its
    publishes (its statements time out after 10 s), which is a violation whatever it took."""
    recovery_budgets: Mapping[str, float] = field(default_factory=dict)
    """Fault kind (or ``*``) -> seconds from a fault's heal to every node holding every envelope
    acknowledged by then; a slower recovery is a ``slow-recovery`` violation.  Empty: measured only."""


def _keys(keys: Iterable[tuple[int, int]]) -> str:
    listed = sorted(keys)
    shown = ", ".join(f"{o}:{s}" for o, s in listed[:_LISTED])
    return shown + (f" (+{len(listed) - _LISTED} more)" if len(listed) > _LISTED else "")


def _node_number(alias: str) -> int | None:
    digits = alias.rsplit("-", 1)[-1]
    return int(digits) if digits.isdigit() else None


# -- replication ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Published:
    """What the publishes say, indexed once for every node (a million envelopes check in seconds)."""

    acknowledged: frozenset[tuple[int, int, str]]
    """(originator, sequence id, topic) of every acknowledged envelope."""
    refused: frozenset[str]
    """Topics whose publish was refused for sure."""
    outcome_of_topic: dict[str, str | None]


def _published(history: History) -> _Published:
    acknowledged = frozenset(
        (o, s, t)
        for op in history.operations
        if op.outcome == "ok"
        for t, (o, s) in zip(op.topics, op.keys, strict=False)
    )
    refused = frozenset(t for op in history.operations if op.outcome == "fail" for t in op.topics)
    return _Published(acknowledged, refused, {t: op.outcome for op in history.operations for t in op.topics})


def _replication(published: _Published, node: NodeState) -> list[Violation]:
    violations: list[Violation] = []
    stored = {(e.originator, e.sequence_id, e.topic) for e in node.envelopes}
    absent = published.acknowledged - stored
    if absent:
        stored_keys = {(o, s) for o, s, _ in stored}
        missing = [(o, s) for o, s, _ in absent if (o, s) not in stored_keys]
        mismatched = [(o, s) for o, s, _ in absent if (o, s) in stored_keys]
        violations += _absent(node, missing, mismatched, len(published.acknowledged))
    # A topic names one envelope only for the publishers' envelopes (each draws a random topic);
    # others -- real users' group messages, welcomes, key packages -- share topics by design.
    topics = [t for _, _, t in stored if t in published.outcome_of_topic]
    if len(set(topics)) != len(topics):
        keys_of_topic: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for o, s, t in stored:
            keys_of_topic[t].append((o, s))
        duplicated = {t: sorted(k) for t, k in keys_of_topic.items() if len(k) > 1}
        acked = sum(1 for t in duplicated if published.outcome_of_topic.get(t) == "ok")
        examples = "; ".join(f"topic {t[:12]}… under {_keys(k)}" for t, k in list(duplicated.items())[:3])
        violations.append(
            Violation(
                "duplicate",
                f"node {node.node_id} stores {len(duplicated)} client envelope(s) more than once "
                f"({acked} of them acknowledged): {examples}",
                node.node_id,
                {"topics": {t: [list(x) for x in k] for t, k in list(duplicated.items())[:100]}},
            )
        )
    refused = published.refused & set(topics)
    if refused:
        violations.append(
            Violation(
                "failed-stored",
                f"node {node.node_id} stores {len(refused)} envelope(s) whose publish was refused: "
                f"{_keys((o, s) for o, s, t in stored if t in refused)}",
                node.node_id,
                {"topics": sorted(refused)[:100]},
            )
        )
    return violations


def _absent(
    node: NodeState, missing: list[tuple[int, int]], mismatched: list[tuple[int, int]], acked_total: int
) -> list[Violation]:
    violations = []
    if missing:
        violations.append(
            Violation(
                "missing",
                f"node {node.node_id} is missing {len(missing)} of {acked_total} acknowledged envelopes "
                f"(originator:sequence) {_keys(missing)}",
                node.node_id,
                {"count": len(missing), "acknowledged": acked_total, "keys": [list(k) for k in sorted(missing)[:100]]},
            )
        )
    if mismatched:
        violations.append(
            Violation(
                "mismatch",
                f"node {node.node_id} stores a different envelope under {len(mismatched)} acknowledged "
                f"keys {_keys(mismatched)}",
                node.node_id,
                {"keys": [list(k) for k in sorted(mismatched)[:100]]},
            )
        )
    return violations


# -- sequences and clocks --------------------------------------------------------------------------


def _holes(sequence: list[int]) -> list[int]:
    present = set(sequence)
    return [s for s in range(1, (max(sequence) if sequence else 0) + 1) if s not in present]


def _sequences(nodes: Mapping[int, NodeState]) -> list[Violation]:
    violations: list[Violation] = []
    own_holes = {n.node_id: set(_holes(n.sequences.get(n.node_id, []))) for n in nodes.values()}
    for node in nodes.values():
        for originator, sequence in sorted(node.sequences.items()):
            holes = _holes(sequence)
            if originator == node.node_id:
                if holes:
                    violations.append(
                        Violation(
                            "sequence-gap",
                            f"originator {originator} skipped {len(holes)} sequence id(s) of its own "
                            f"(below {max(sequence)}): {_keys((originator, h) for h in holes)}",
                            node.node_id,
                            {"originator": originator, "holes": holes[:100]},
                        )
                    )
                continue
            # Holes the originator itself has are reported once, on the originator.
            replica_holes = [h for h in holes if h not in own_holes.get(originator, set())]
            if replica_holes:
                violations.append(
                    Violation(
                        "sequence-gap",
                        f"node {node.node_id} lacks {len(replica_holes)} sequence id(s) of originator "
                        f"{originator} below its latest {max(sequence)}: "
                        f"{_keys((originator, h) for h in replica_holes)}",
                        node.node_id,
                        {"originator": originator, "holes": replica_holes[:100]},
                    )
                )
    return violations


def _sequence_order(history: History) -> list[Violation]:
    """Real-time order: if A was acknowledged before B was invoked (same originator), A < B."""
    by_originator: dict[int, list[Operation]] = defaultdict(list)
    for op in history.operations:
        if op.outcome == "ok" and op.keys and op.complete is not None:
            for originator in {o for o, _ in op.keys}:
                by_originator[originator].append(op)
    violations: list[Violation] = []
    for originator, ops in sorted(by_originator.items()):
        finished = sorted(ops, key=lambda op: op.complete or 0.0)
        completes = [op.complete or 0.0 for op in finished]
        running_max: list[tuple[int, Operation]] = []
        best: tuple[int, Operation] | None = None
        for op in finished:
            top = max(s for o, s in op.keys if o == originator)
            if best is None or top > best[0]:
                best = (top, op)
            running_max.append(best)
        inversions = []
        for op in ops:
            before = bisect.bisect_left(completes, op.invoke)
            if before == 0:
                continue
            earlier_max, earlier = running_max[before - 1]
            lowest = min(s for o, s in op.keys if o == originator)
            if lowest <= earlier_max:
                inversions.append((earlier, op, earlier_max, lowest))
        if inversions:
            a, b, high, low = inversions[0]
            violations.append(
                Violation(
                    "sequence-order",
                    f"originator {originator}: {len(inversions)} publish(es) got a sequence id not "
                    f"above one acknowledged before they began (op {a.id} got {high}, later op {b.id} got {low})",
                    originator,
                    {"examples": [[x.id, y.id, h, lo] for x, y, h, lo in inversions[:20]]},
                )
            )
    return violations


def _clocks(nodes: Mapping[int, NodeState]) -> list[Violation]:
    violations: list[Violation] = []
    for node in nodes.values():
        stored_max = {o: max(s) for o, s in node.sequences.items() if s}
        if node.vector_clock != stored_max:
            violations.append(
                Violation(
                    "clock-divergence",
                    f"node {node.node_id}'s vector clock {node.vector_clock} disagrees with the "
                    f"latest envelopes it stores {stored_max}",
                    node.node_id,
                    {"vector_clock": node.vector_clock, "stored": stored_max},
                )
            )
    distinct = {tuple(sorted(n.vector_clock.items())) for n in nodes.values()}
    if len(distinct) > 1:
        described = "; ".join(f"node {n.node_id}: {dict(sorted(n.vector_clock.items()))}" for n in nodes.values())
        violations.append(
            Violation(
                "clock-divergence",
                f"vector clocks differ after heal: {described}",
                None,
                {str(n.node_id): n.vector_clock for n in nodes.values()},
            )
        )
    return violations


# -- usage -----------------------------------------------------------------------------------------


def _usage(nodes: Mapping[int, NodeState]) -> list[Violation]:
    violations: list[Violation] = []
    views: dict[int, dict[tuple[str, int], int]] = {}
    for node in nodes.values():
        counted = {(u.payer, u.originator): u.message_count for u in node.usage}
        stored = Counter(
            (e.payer or "", e.originator) for e in node.envelopes if e.payer or e.originator not in CHAIN_ORIGINATORS
        )
        disagreeing = {
            k: (counted.get(k, 0), stored.get(k, 0))
            for k in set(counted) | set(stored)
            if counted.get(k, 0) != stored.get(k, 0)
        }
        if disagreeing:
            shown = "; ".join(
                f"payer {p} originator {o}: usage {c}, stored {s}" for (p, o), (c, s) in sorted(disagreeing.items())[:5]
            )
            violations.append(
                Violation(
                    "usage-mismatch",
                    f"node {node.node_id}'s unsettled usage disagrees with the envelopes it stores: {shown}",
                    node.node_id,
                    {"rows": [[p, o, c, s] for (p, o), (c, s) in disagreeing.items()]},
                )
            )
        views[node.node_id] = counted
    distinct = {tuple(sorted(v.items())) for v in views.values()}
    if len(distinct) > 1:
        keys = sorted({k for v in views.values() for k in v})
        differing = [k for k in keys if len({v.get(k, 0) for v in views.values()}) > 1]
        shown = "; ".join(
            f"payer {p} originator {o}: " + ", ".join(f"node {n} {v.get((p, o), 0)}" for n, v in views.items())
            for p, o in differing[:5]
        )
        violations.append(
            Violation(
                "usage-mismatch",
                f"nodes count different usage: {shown}",
                None,
                {"rows": [[p, o, {str(n): v.get((p, o), 0) for n, v in views.items()}] for p, o in differing]},
            )
        )
    return violations


# -- liveness --------------------------------------------------------------------------------------


def _faulted(op: Operation, faults: list[TimelineEvent], grace: float, end: float) -> bool:
    """Whether a fault could excuse ``op``: one on its target (any, for gateway publishes, which
    may use every node) active from ``grace`` seconds before the request to its end."""
    via_gateway = op.target.startswith("gateway-")
    for event in faults:
        touches = via_gateway or not event.targets or op.target in event.targets
        if touches and event.overlaps(op.invoke - grace, end):
            return True
    return False


def _liveness(history: History, options: CheckOptions) -> list[Violation]:
    faults = [e for e in history.events if e.kind == "fault"]
    stuck: dict[str, list[Operation]] = defaultdict(list)
    for op in history.operations:
        end = op.complete if op.complete is not None else float("inf")
        slow = end - op.invoke > options.slow_seconds
        if op.outcome == "ok" and not slow:
            continue
        if _faulted(op, faults, options.grace_seconds, min(end, history.healed_at)):
            continue
        stuck[op.target].append(op)
    violations = []
    for target, ops in sorted(stuck.items()):
        failed = [op for op in ops if op.outcome != "ok"]
        first = ops[0]
        latency = "never completed" if first.latency is None else f"after {first.latency:.1f}s"
        reason = f": {first.error}" if first.error else ""
        violations.append(
            Violation(
                "liveness",
                f"{len(ops)} publish(es) to {target} with no fault on it failed ({len(failed)}) or took over "
                f"{options.slow_seconds:g}s; first: op {first.id} by {first.process} {first.outcome} {latency}{reason}",
                _node_number(target) if target.startswith("node-") else None,
                {
                    "operations": [op.id for op in ops[:100]],
                    "failed": len(failed),
                    "latencies": [None if op.latency is None else round(op.latency, 3) for op in ops[:100]],
                    "errors": sorted({op.error or "" for op in failed})[:5],
                },
            )
        )
    return violations


def _planned_faults(history: History) -> int:
    """Faults the plan injected: the explorer's own spans where it marked them (the fault
    registry's controller records a second span of each)."""
    faults = [e for e in history.events if e.kind == "fault"]
    planned = [e for e in faults if e.params.get("explore")]
    return len(planned) if planned else len(faults)


def check(history: History, final: FinalState, options: CheckOptions | None = None) -> Verdict:
    """The verdict on one exploration (see module docstring).

    The cyclic garbage collector is paused meanwhile: checking builds millions of short-lived
    tuples and no cycles, and its passes over them cost a large share of the time."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _check(history, final, options)
    finally:
        if paused:
            gc.enable()


def _check(history: History, final: FinalState, options: CheckOptions | None) -> Verdict:
    options = options or CheckOptions()
    checked = {n.node_id: n for n in final.nodes.values() if n.checked}
    notes = [
        f"node {n.node_id} not checked: {n.error or ('down' if not n.running else 'not canonical')}"
        for n in final.nodes.values()
        if not n.checked
    ]
    violations: list[Violation] = []
    published = _published(history)
    for node in checked.values():
        violations += _replication(published, node)
    violations += _sequences(checked)
    violations += _sequence_order(history)
    violations += _clocks(checked)
    violations += _usage(checked)
    for node in checked.values():
        if node.staged:
            violations.append(
                Violation(
                    "staged-leftover",
                    f"node {node.node_id} has {node.staged} staged envelope(s) left after heal",
                    node.node_id,
                    {"staged": node.staged},
                )
            )
    violations += _liveness(history, options)
    read_violations, read_stats = check_reads(history, final)
    violations += read_violations
    violations += check_fees(final.fees)
    violations += slow_recoveries(history.recoveries, options.recovery_budgets, final.read_at)
    user_violations, user_stats = check_users(history.users)
    violations += user_violations
    latencies = sorted(op.latency for op in history.operations if op.latency is not None)
    stats: dict[str, Any] = {
        "operations": history.counts(),
        "acknowledged_envelopes": history.acknowledged_envelopes(),
        "nodes_checked": sorted(checked),
        "faults": _planned_faults(history),
        "publish_latency_p50": round(latencies[len(latencies) // 2], 3) if latencies else None,
        "publish_latency_max": round(latencies[-1], 3) if latencies else None,
        **read_stats,
        "recovery_seconds": [
            {"kind": r.kind, "target": r.target, "replicated": r.seconds, "readers": r.reader_seconds}
            for r in history.recoveries
        ],
        **user_stats,
    }
    return Verdict(violations, stats, notes)
