"""Timed events of one environment: phases, faults, service actions, checks, progress.

Why one shared record: a fault is only half a fact without *when* it held.  The HTML report
shades fault windows over the node samples, the explorer's checker asks whether any fault was
active when a publish failed, and the artifacts let a person line logs up with both.  Everything
that acts on the cluster writes here, everything that explains a run reads from here, and none
of them needs to know about the others.

Times are wall-clock Unix seconds (``time.time()``), the clock service logs use too, so events
and log lines can share one axis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Timeline", "TimelineEvent", "EventKind", "Transition", "TimelineListener"]

EventKind = Literal["phase", "fault", "service", "check", "traffic", "progress"]
"""``phase``: a stage of the scenario or environment; ``fault``: something injected; ``service``:
start / stop / kill / restart / pause of a service; ``check``: an assertion or invariant result;
``traffic``: client activity; ``progress``: what a long wait is waiting for."""

Transition = Literal["begin", "finish", "instant"]
TimelineListener = Callable[["TimelineEvent", Transition], None]


@dataclass
class TimelineEvent:
    """One event.  ``end`` is ``None`` while a span is open; an instant has ``end == start``."""

    id: int
    kind: str
    name: str
    targets: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    start: float = 0.0
    end: float | None = None

    @property
    def active(self) -> bool:
        return self.end is None

    @property
    def duration(self) -> float | None:
        return None if self.end is None else self.end - self.start

    def overlaps(self, start: float, end: float) -> bool:
        """True if the event held at any moment in ``[start, end]`` (an open one still holds)."""
        return self.start <= end and (self.end is None or self.end >= start)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "targets": list(self.targets),
            "params": dict(self.params),
            "start": round(self.start, 3),
            "end": None if self.end is None else round(self.end, 3),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimelineEvent:
        end = data.get("end")
        return cls(
            id=int(data["id"]),
            kind=str(data["kind"]),
            name=str(data["name"]),
            targets=tuple(str(t) for t in data.get("targets", ())),
            params=dict(data.get("params", {})),
            start=float(data["start"]),
            end=None if end is None else float(end),
        )


class Timeline:
    """Thread-safe, append-only list of :class:`TimelineEvent`.

    Background publishers, fault threads and the scenario all write concurrently; listeners are
    called outside the lock, in the writer's thread, and must be quick (a listener that raises
    is dropped from the call, never from the writer's work).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._events: list[TimelineEvent] = []
        self._listeners: list[TimelineListener] = []
        self._lock = threading.Lock()

    # -- writing -----------------------------------------------------------------------------
    def begin(
        self, kind: EventKind | str, name: str, targets: tuple[str, ...] | list[str] = (), **params: Any
    ) -> TimelineEvent:
        """Open a span (a fault window, a phase); close it with :meth:`finish`."""
        return self._add(kind, name, targets, params, instant=False)

    def instant(
        self, kind: EventKind | str, name: str, targets: tuple[str, ...] | list[str] = (), **params: Any
    ) -> TimelineEvent:
        """Record something that happened at one moment (a kill, a check result)."""
        return self._add(kind, name, targets, params, instant=True)

    def finish(self, event: TimelineEvent, **more_params: Any) -> None:
        """Close a span; idempotent (a second finish keeps the first end time)."""
        with self._lock:
            if event.end is not None:
                return
            event.end = max(self._clock(), event.start)
            event.params.update(more_params)
        self._notify(event, "finish")

    @contextmanager
    def span(
        self, kind: EventKind | str, name: str, targets: tuple[str, ...] | list[str] = (), **params: Any
    ) -> Iterator[TimelineEvent]:
        """A span around a block; it is finished however the block ends."""
        event = self.begin(kind, name, targets, **params)
        try:
            yield event
        finally:
            self.finish(event)

    def finish_all(self, kind: str | None = None, **more_params: Any) -> list[TimelineEvent]:
        """Close every open span (of ``kind``): used when the environment heals or closes."""
        closed = self.active(kind)
        for event in closed:
            self.finish(event, **more_params)
        return closed

    # -- reading -----------------------------------------------------------------------------
    def events(self, kind: str | None = None) -> list[TimelineEvent]:
        """A snapshot, ordered by start time (then by creation)."""
        with self._lock:
            chosen = [e for e in self._events if kind is None or e.kind == kind]
        return sorted(chosen, key=lambda e: (e.start, e.id))

    def active(self, kind: str | None = None) -> list[TimelineEvent]:
        """Spans begun and not yet finished (of ``kind``)."""
        return [e for e in self.events(kind) if e.end is None]

    def to_list(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.events()]

    @classmethod
    def from_list(cls, data: list[Mapping[str, Any]]) -> Timeline:
        timeline = cls()
        timeline._events = [TimelineEvent.from_dict(item) for item in data]
        return timeline

    # -- listening ---------------------------------------------------------------------------
    def subscribe(self, listener: TimelineListener) -> Callable[[], None]:
        """Call ``listener(event, transition)`` on every change; returns an unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    # -- internals ---------------------------------------------------------------------------
    def _add(
        self, kind: str, name: str, targets: tuple[str, ...] | list[str], params: dict[str, Any], *, instant: bool
    ) -> TimelineEvent:
        now = self._clock()
        with self._lock:
            event = TimelineEvent(
                len(self._events) + 1, kind, name, tuple(targets), params, now, now if instant else None
            )
            self._events.append(event)
        self._notify(event, "instant" if instant else "begin")
        return event

    def _notify(self, event: TimelineEvent, transition: Transition) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event, transition)
            except Exception:  # a broken listener must not break the fault or the scenario
                continue
