"""Recovery time of a scenario run: for each fault that ends, the seconds from its heal until every
running node's database holds every envelope the framework's clients had acknowledged by then,
and, when the scenario reads nodes (``node.reader()``), until each node it reads serves them all.

It listens for fault spans closing on the environment's timeline (``env.heal()``, a fault's own
``heal()``, ``node.reconnect()`` ...), and only then starts probing, about once a second, with
the probe :mod:`xmtpd_e2e.observe.recovery` shares with ``explore``; it stops asking once
everything healed is recovered from.  The environment stops it first thing at close, so a heal
made by the teardown is not measured, and one still open then is recorded as not recovered with
the seconds it had been waiting.  It is a measure: it never fails a scenario, the scenario's own
checks decide that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.client.ledger import PublishLedger
from xmtpd_e2e.observe.recovery import Key, Recovery, RecoveryProbe
from xmtpd_e2e.timeline import Timeline, TimelineEvent, Transition

if TYPE_CHECKING:
    from xmtpd_e2e.api.node_handle import NodeHandle
    from xmtpd_e2e.client.reader import EnvelopeReader

__all__ = ["RunRecoveries", "recovery_record"]


def recovery_record(recovery: Recovery, ended_at: float) -> dict[str, Any]:
    """One recovery as the results JSON holds it; one never reached counts until ``ended_at``."""
    nodes_seconds = recovery.seconds
    if nodes_seconds is None:
        nodes_seconds = round(max(ended_at - recovery.healed_at, 0.0), 2)
    return {
        "kind": recovery.kind,
        "target": recovery.target,
        "healed_at": round(recovery.healed_at, 3),
        "acknowledged": recovery.acknowledged,
        "nodes_seconds": nodes_seconds,
        "nodes_converged": recovery.replicated_at is not None,
        "readers_seconds": recovery.reader_seconds,
        "recovered": recovery.recovered,
    }


class _Served:
    """What one read node serves to a reader, read onward from where the last probe stopped."""

    def __init__(self, node: NodeHandle) -> None:
        self.node = node
        self.keys: set[Key] = set()
        self._reader: EnvelopeReader | None = None

    def has(self, wanted: Iterable[Key]) -> bool:
        missing = {key for key in wanted if key not in self.keys}
        if not missing:
            return True
        if self._reader is None:
            from xmtpd_e2e.client.reader import EnvelopeReader

            node = self.node
            self._reader = EnvelopeReader(lambda: node.endpoint)
        cursor: dict[int, int] = {}
        for originator, sequence in self.keys:
            cursor[originator] = max(cursor.get(originator, 0), sequence)
        for page in self._reader.query_pages(sorted({o for o, _ in missing}), cursor):
            self.keys.update((e.originator, e.sequence_id) for e in page)
        return all(key in self.keys for key in missing)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


class RunRecoveries:
    """See module docstring.  ``nodes`` lists the environment's nodes; ``published`` its ledger."""

    def __init__(self, timeline: Timeline, nodes: Callable[[], list[NodeHandle]], published: PublishLedger) -> None:
        self._nodes = nodes
        self._published = published
        self._read: dict[str, _Served] = {}
        self._lock = threading.Lock()
        self._probe: RecoveryProbe | None = None
        self._ended_at: float | None = None
        self._unsubscribe = timeline.subscribe(self._on_event)

    def reading(self, node: NodeHandle) -> None:
        """The scenario made a reader of ``node``: recoveries also wait for it to serve everything."""
        with self._lock:
            self._read.setdefault(node.alias, _Served(node))

    def stop(self, *, last_look: bool = True) -> None:
        """Stop listening and probing (idempotent), after one last probe unless ``last_look`` is
        False (a hurried teardown); what is still open then is not recovered by the end."""
        self._unsubscribe()
        with self._lock:
            stopped = self._ended_at is not None
            probe = self._probe
        if probe is not None and not stopped:
            probe.stop(last_look=last_look)
        with self._lock:
            if self._ended_at is None:
                self._ended_at = time.time()
        for served in list(self._read.values()):
            served.close()

    def to_list(self) -> list[dict[str, Any]]:
        """Every recovery measured so far, as the results JSON holds them."""
        with self._lock:
            probe, ended_at = self._probe, self._ended_at or time.time()
        return [recovery_record(r, ended_at) for r in (probe.recoveries if probe is not None else [])]

    def _on_event(self, event: TimelineEvent, transition: Transition) -> None:
        if event.kind != "fault" or transition != "finish" or event.params.get("explore"):
            return
        with self._lock:
            if self._ended_at is not None:
                return
            if self._probe is None:
                self._probe = RecoveryProbe(self._nodes, self._acknowledged, self._readers_caught_up)
                self._probe.start()
            probe = self._probe
        probe.healed(event.name, ", ".join(event.targets) or event.name)

    def _acknowledged(self) -> dict[Key, str]:
        return {e.key: e.topic for e in self._published.all()}

    def _readers_caught_up(self, acknowledged: dict[Key, str]) -> bool | None:
        with self._lock:
            read = list(self._read.values())
        if not read:
            return None
        return all(served.node.is_running and served.has(acknowledged) for served in read)
