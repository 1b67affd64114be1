"""Background sampling of every node's database: envelope counts and replication lag over time.

A verdict says *that* a node fell behind; the samples say *when*, by how much, and when it caught
up, which is what a person lines up against fault windows in the HTML report.  The sampler runs
as one daemon thread per environment, about once a second, and asks each node two cheap
questions: how many envelopes it stores (a count of ``gateway_envelopes_meta``) and its vector
clock (one row per originator in ``gateway_envelopes_latest``).

Replication lag of a node is counted in envelopes: for each originator, how many sequence ids
the most advanced node has that this one does not yet have, summed.  It needs no clock
agreement between services and reads as "node-300 was 190 envelopes behind".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["NodeSample", "NodeSampler", "SampleSource", "replication_lag"]


class SampleSource(Protocol):
    """What the sampler asks of a node's database (``NodeObserver`` provides it)."""

    def envelope_count(self, *, client_only: bool = False) -> int: ...

    def vector_clock(self) -> dict[int, int]: ...


@dataclass(frozen=True)
class NodeSample:
    time: float
    """Unix seconds (wall clock, like the timeline and service logs)."""
    envelopes: int
    lag: int
    """Envelopes this node lacks that the most advanced node has (see module docstring)."""


def replication_lag(clocks: Mapping[str, Mapping[int, int]]) -> dict[str, int]:
    """Per node, the envelopes the most advanced node holds and it does not (by vector clock)."""
    best: dict[int, int] = {}
    for clock in clocks.values():
        for originator, sequence in clock.items():
            best[originator] = max(best.get(originator, 0), sequence)
    return {
        name: sum(max(0, top - clock.get(originator, 0)) for originator, top in best.items())
        for name, clock in clocks.items()
    }


class NodeSampler:
    """Samples the nodes ``sources()`` names every ``interval`` seconds until :meth:`stop`.

    ``sources`` is called on every round, so nodes added later are sampled from then on.  A node
    whose database does not answer (dropped, overloaded) simply has no sample for that round;
    the sampler never raises into the scenario.
    """

    def __init__(
        self,
        sources: Callable[[], Mapping[str, SampleSource]],
        *,
        interval: float = 1.0,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._sources = sources
        self._interval = interval
        self._log = logger or logging.getLogger("xmtpd_e2e.sampler")
        self._clock = clock
        self._samples: dict[str, list[NodeSample]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0

    @property
    def interval(self) -> float:
        return self._interval

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="node-sampler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sampling (idempotent); a round in progress finishes first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def sample_once(self) -> None:
        """One round over every node (the thread calls this; tests may too)."""
        clocks: dict[str, dict[int, int]] = {}
        counts: dict[str, int] = {}
        now = self._clock()
        for name, source in dict(self._sources()).items():
            if self._stop.is_set():
                return
            try:
                counts[name] = source.envelope_count()
                clocks[name] = source.vector_clock()
            except Exception as error:  # a node's database may be gone or busy: a gap, not a failure
                self._failures += 1
                if self._failures <= 3:
                    self._log.debug("sampling %s failed: %s", name, error)
        lags = replication_lag(clocks)
        with self._lock:
            for name, count in counts.items():
                if name in lags:
                    self._samples.setdefault(name, []).append(NodeSample(now, count, lags[name]))

    def samples(self) -> dict[str, list[NodeSample]]:
        with self._lock:
            return {name: list(values) for name, values in self._samples.items()}

    def to_dict(self) -> dict[str, Any]:
        """Compact JSON: per node a list of ``[time, envelopes, lag]`` rows."""
        return {
            "interval_seconds": self._interval,
            "nodes": {
                name: [[round(s.time, 3), s.envelopes, s.lag] for s in values]
                for name, values in self.samples().items()
            },
        }

    def _loop(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self.sample_once()
            took = time.monotonic() - began
            # A round that takes long (many nodes, a loaded machine) is followed by a rest as
            # long as itself: the sampler never keeps the databases busy more than half the time.
            self._stop.wait(max(self._interval - took, took, 0.05))
