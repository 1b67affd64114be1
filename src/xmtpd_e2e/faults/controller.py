"""Active faults of one environment: each applied, recorded on the timeline, and healed once.

A fault is a list of *pieces* (a chain of iptables rules in one namespace, a qdisc, a paused
process), each knowing how to undo itself.  Applying a fault either installs every piece or, if
one fails, undoes those already installed and raises: a half-applied partition would be a
different experiment from the one the scenario asked for.  Healing undoes every piece, even if
one of them fails, and closes the fault's timeline span.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xmtpd_e2e.timeline import Timeline, TimelineEvent

__all__ = ["Fault", "FaultController", "Piece"]


@dataclass(frozen=True)
class Piece:
    """One installable part of a fault."""

    describe: str
    install: Callable[[], None]
    remove: Callable[[], None]
    where: str = ""
    """The service whose namespace or process the piece acts on."""
    survives_restart: bool = True
    """False for a pause: a restarted process is not stopped any more."""


@dataclass
class Fault:
    """A fault in force; :meth:`heal` ends it (idempotent)."""

    id: int
    name: str
    targets: tuple[str, ...]
    params: dict[str, Any]
    _controller: FaultController
    _pieces: list[Piece] = field(default_factory=list)
    _event: TimelineEvent | None = None
    healed: bool = False

    def heal(self) -> None:
        self._controller.heal(self)

    def describe(self) -> list[str]:
        return [piece.describe for piece in self._pieces]


class FaultController:
    """See module docstring."""

    def __init__(self, timeline: Timeline, logger: logging.Logger) -> None:
        self._timeline = timeline
        self._log = logger
        self._ids = itertools.count(1)
        self._active: dict[int, Fault] = {}
        self._lock = threading.Lock()

    def next_id(self) -> int:
        return next(self._ids)

    def apply(
        self,
        name: str,
        targets: Sequence[str],
        params: dict[str, Any],
        pieces: Sequence[Piece],
        *,
        fault_id: int | None = None,
    ) -> Fault:
        fault = Fault(fault_id or self.next_id(), name, tuple(targets), dict(params), self)
        installed: list[Piece] = []
        try:
            for piece in pieces:
                piece.install()
                installed.append(piece)
        except BaseException:
            for piece in reversed(installed):
                try:
                    piece.remove()
                except Exception as error:  # keep undoing the rest
                    self._log.warning("undoing %s failed: %s", piece.describe, error)
            raise
        fault._pieces = installed
        fault._event = self._timeline.begin("fault", name, fault.targets, fault_id=fault.id, **fault.params)
        with self._lock:
            self._active[fault.id] = fault
        self._log.info("fault %s on %s %s", name, ", ".join(fault.targets), fault.params or "")
        return fault

    def heal(self, fault: Fault) -> None:
        with self._lock:
            if fault.healed:
                return
            fault.healed = True
            self._active.pop(fault.id, None)
        errors: list[Exception] = []
        for piece in reversed(fault._pieces):
            try:
                piece.remove()
            except Exception as error:
                errors.append(error)
        if fault._event is not None:
            self._timeline.finish(fault._event)
        self._log.info("healed %s on %s", fault.name, ", ".join(fault.targets))
        if errors:
            raise errors[0]

    def service_restarted(self, service: str) -> None:
        """Carry active faults over a restart of ``service``.

        A container that restarts gets a fresh network namespace, without the rules: they are
        installed again.  A pause of it ends (the new process runs), and so does its fault.
        """
        for fault in self.active():
            pieces = [p for p in fault._pieces if p.where == service]
            if not pieces:
                continue
            if not all(p.survives_restart for p in pieces):
                self.heal(fault)
                continue
            for piece in pieces:
                piece.install()
            self._log.info("%s restarted: %s re-applied", service, fault.name)

    def active(self, name: str | None = None) -> list[Fault]:
        with self._lock:
            return [f for f in self._active.values() if name is None or f.name == name]

    def heal_all(self, names: Sequence[str] | None = None) -> None:
        """Heal every active fault (of ``names``), newest first; the first error is raised last."""
        errors: list[Exception] = []
        for fault in sorted(self.active(), key=lambda f: -f.id):
            if names is not None and fault.name not in names:
                continue
            try:
                self.heal(fault)
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]
