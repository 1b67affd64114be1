"""Recovery after a fault heals: how long until every running node's database holds every
envelope acknowledged by the heal, and until every reader has them.

Both ``explore`` (with a budget per fault kind, see :mod:`xmtpd_e2e.explore.recovery`) and
scenario runs (see :mod:`xmtpd_e2e.api.recoveries`) measure it with :class:`RecoveryProbe`: one
daemon thread that probes about once a second, only while a heal is not yet recovered from, so
a run without faults pays nothing and a recovered one stops asking.  A probe that fails (a
database briefly unreachable) is simply tried again a second later: this is a measure, never a
check.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Key", "Recovery", "RecoveryProbe", "ProbedNode", "ReadersCaughtUp"]

log = logging.getLogger("xmtpd_e2e.observe.recovery")
PROBE_SECONDS = 1.0

Key = tuple[int, int]
ReadersCaughtUp = Callable[[dict[Key, str]], "bool | None"]
"""Given the acknowledged envelopes (key -> topic): whether every reader has them; None when
there is no reader to wait for."""


class _KeySource(Protocol):
    def envelope_keys(self, *, client_only: bool = True) -> set[Key]: ...


class ProbedNode(Protocol):
    """What the probe asks of a node (``NodeHandle`` provides it)."""

    @property
    def alias(self) -> str: ...

    @property
    def is_running(self) -> bool: ...

    @property
    def observer(self) -> _KeySource: ...


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
    read: bool = field(default=False, compare=False)
    """Whether there was a reader to wait for (so ``readers_at`` None means "not caught up")."""

    @property
    def seconds(self) -> float | None:
        return None if self.replicated_at is None else round(self.replicated_at - self.healed_at, 2)

    @property
    def reader_seconds(self) -> float | None:
        return None if self.readers_at is None else round(self.readers_at - self.healed_at, 2)

    @property
    def recovered(self) -> bool:
        """Every node converged and, when there were readers, every reader caught up."""
        return self.replicated_at is not None and (self.readers_at is not None or not self.read)

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


@dataclass
class _Pending:
    recovery: Recovery
    acknowledged: dict[Key, str]
    """Key -> topic of every envelope acknowledged before the heal."""
    keys: set[Key]
    deadline: float | None

    @property
    def open(self) -> bool:
        r = self.recovery
        return r.replicated_at is None or (r.read and r.readers_at is None)


def _no_readers(acknowledged: dict[Key, str]) -> bool | None:
    return None


class RecoveryProbe(threading.Thread):
    """Measures each heal's recovery (see module docstring); :meth:`finish` or :meth:`stop` ends it.

    ``overdue`` is called once, from the probe's thread, for a recovery still not replicated
    when its kind's :meth:`budget` has passed, with the keys each lagging node lacks.
    """

    def __init__(
        self,
        nodes: Callable[[], Iterable[ProbedNode]],
        acknowledged: Callable[[], dict[Key, str]],
        readers_caught_up: ReadersCaughtUp = _no_readers,
        *,
        name: str = "recovery",
        overdue: Callable[[Recovery, dict[str, set[Key]]], None] | None = None,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.nodes = nodes
        self.acknowledged = acknowledged
        self.readers_caught_up = readers_caught_up
        self.overdue = overdue
        self.recoveries: list[Recovery] = []
        self._pending: list[_Pending] = []
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._wake = threading.Event()

    def healed(self, kind: str, target: str) -> None:
        """A fault of ``kind`` on ``target`` ended now: measure until everything acknowledged is everywhere."""
        acknowledged = self.acknowledged()
        now = time.time()
        budget = self.budget(kind)
        recovery = Recovery(kind, target, now, len(acknowledged))
        with self._lock:
            self.recoveries.append(recovery)
            self._pending.append(
                _Pending(recovery, acknowledged, set(acknowledged), None if budget is None else now + budget)
            )
        self._wake.set()  # a first look right away, then about once a second

    def budget(self, kind: str) -> float | None:
        """Seconds a recovery from ``kind`` may take before ``overdue`` is called (None: no limit)."""
        return None

    def finish(self, grace: float) -> list[Recovery]:
        """Keep probing up to ``grace`` seconds for recoveries still open, then stop."""
        deadline = time.monotonic() + grace
        while self._open() and time.monotonic() < deadline and self.is_alive():
            self._halt.wait(PROBE_SECONDS)
        self.stop()
        return list(self.recoveries)

    def stop(self, timeout: float = 10.0, *, last_look: bool = False) -> None:
        """Stop probing (idempotent); a probe in progress finishes first, up to ``timeout``.

        ``last_look``: probe once more, here, what is still open, so a recovery that came about
        since the last probe (a scenario ending within a second of its heal) is not missed.
        """
        self._halt.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout)
        if last_look:
            self._probe_open()

    def _open(self) -> bool:
        with self._lock:
            return any(p.open for p in self._pending)

    def run(self) -> None:
        while True:
            self._wake.wait(PROBE_SECONDS)
            self._wake.clear()
            if self._halt.is_set():
                return
            self._probe_open()

    def _probe_open(self) -> None:
        with self._lock:
            pending = list(self._pending)
        if not pending:
            return
        try:
            self._probe(pending)
        except Exception as error:  # a database briefly unreachable: probe again
            log.debug("recovery probe failed: %s", error)

    def _probe(self, pending: list[_Pending]) -> None:
        held = {n.alias: n.observer.envelope_keys(client_only=True) for n in self.nodes() if n.is_running}
        now = time.time()
        for p in pending:
            r = p.recovery
            lacking = {alias: p.keys - keys for alias, keys in held.items() if p.keys - keys}
            if r.replicated_at is None and not lacking:
                r.replicated_at = now
            if r.readers_at is None:
                caught_up = self.readers_caught_up(p.acknowledged)
                r.read = r.read or caught_up is not None
                if caught_up:
                    r.readers_at = now
            if r.replicated_at is None and p.deadline is not None and now >= p.deadline and self.overdue:
                p.deadline = None
                self.overdue(r, lacking)
        with self._lock:
            self._pending = [p for p in self._pending if p.open]
