"""Active faults of one environment: each applied, recorded on the timeline, and healed once.

A fault is a list of *pieces* (a chain of iptables rules in one namespace, a qdisc, a toxic on a
proxy, a paused process), each knowing how to undo itself.  Applying a fault either installs
every piece or, if one fails, undoes those already installed and raises: a half-applied
partition would be a different experiment from the one the scenario asked for.  Healing undoes
every piece, even if one of them fails, and closes the fault's timeline span.

Across a restart of the service a piece acts on, a piece either outlives it (held outside the
process: a toxic, rules in a namespace that outlives the process) or ends with it (a pause).
After each restart the controller checks that every piece meant to outlive it is still in
place; one that is not is installed again, and the stretch from the start until then is
recorded as a *gap* of the fault (``params["gaps"]`` of its timeline span: ``[start, end]``
pairs, ``end`` None while still open).  The report draws gaps as breaks in the fault's bar, so
it shows when the fault was really in force.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xmtpd_e2e.faults.registry import Restart
from xmtpd_e2e.timeline import Timeline, TimelineEvent

__all__ = ["Fault", "FaultController", "Piece"]


@dataclass(frozen=True)
class Piece:
    """One installable part of a fault."""

    describe: str
    install: Callable[[], None]
    remove: Callable[[], None]
    where: str = ""
    """The service whose namespace, proxy or process the piece acts on."""
    restart: Restart = Restart.OUTLIVES
    present: Callable[[], bool] | None = None
    """Whether the piece is in force right now (checked after a restart of ``where``); None:
    it cannot be lost (a toxic on a proxy that did not restart)."""


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
    label: str = ""

    def heal(self) -> None:
        self._controller.heal(self)

    def describe(self) -> list[str]:
        return [piece.describe for piece in self._pieces]

    @property
    def gaps(self) -> list[list[float | None]]:
        """Stretches when the fault was not in force (see module docstring)."""
        if self._event is None:
            return []
        return [list(gap) for gap in self._event.params.get("gaps", [])]


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
        label: str = "",
    ) -> Fault:
        fault = Fault(fault_id or self.next_id(), name, tuple(targets), dict(params), self, label=label)
        installed: list[Piece] = []
        try:
            for piece in pieces:
                piece.install()
                installed.append(piece)
        except BaseException:
            self._undo(installed)
            raise
        fault._pieces = installed
        recorded = {**fault.params, **({"label": label} if label else {})}
        fault._event = self._timeline.begin("fault", name, fault.targets, fault_id=fault.id, **recorded)
        with self._lock:
            self._active[fault.id] = fault
        self._log.info("fault %s on %s %s", name, ", ".join(fault.targets), fault.params or "")
        return fault

    def _undo(self, installed: Sequence[Piece]) -> None:
        for piece in reversed(installed):
            try:
                piece.remove()
            except Exception as error:  # keep undoing the rest
                self._log.warning("undoing %s failed: %s", piece.describe, error)

    def heal(self, fault: Fault, *, undo: bool = True) -> None:
        """End ``fault``: undo its pieces (``undo=False``: only close its span, for a fault whose
        undoing is pointless because its services are being removed, such as a restart)."""
        with self._lock:
            if fault.healed:
                return
            fault.healed = True
            self._active.pop(fault.id, None)
        errors: list[Exception] = []
        for piece in reversed(fault._pieces if undo else []):
            try:
                piece.remove()
            except Exception as error:
                errors.append(error)
        if fault._event is not None:
            self._close_gap(fault)
            self._timeline.finish(fault._event)
        self._log.info("healed %s on %s", fault.name, ", ".join(fault.targets))
        if errors:
            raise errors[0]

    def _lost_pieces(self, fault: Fault, service: str) -> list[Piece]:
        """The pieces of ``fault`` on ``service`` that a restart of it took away."""
        return [p for p in fault._pieces if p.where == service and p.present is not None and not p.present()]

    def install_before_run(self, service: str) -> None:
        """Install again, before ``service``'s new process runs, every piece on it that its
        restart took away (a new pod's network namespace has none of the old one's rules), so the
        process's first packet meets the fault and the fault has no gap.  A piece that does not
        install is left to :meth:`service_restarted`, which records the gap."""
        for fault in self.active():
            if any(p.where == service and p.restart is Restart.ENDS for p in fault._pieces):
                continue
            try:
                for piece in self._lost_pieces(fault, service):
                    piece.install()
            except Exception as error:
                self._log.warning("%s restarting: installing %s before it runs failed: %s", service, fault.name, error)

    def service_restarted(self, service: str, launched_at: float | None = None) -> None:
        """Carry active faults over a restart of ``service`` (launched at ``launched_at``).

        A fault with a piece that ends with the process (a pause) ends.  Every other piece is
        checked: one no longer in place is installed again and the fault gets a gap from the
        launch until now; if installing fails the gap stays open and the error is logged (the
        fault is still healed normally).
        """
        for fault in self.active():
            pieces = [p for p in fault._pieces if p.where == service]
            if not pieces:
                continue
            if any(p.restart is Restart.ENDS for p in pieces):
                self.heal(fault)
                continue
            lost = self._lost_pieces(fault, service)
            if not lost:
                continue
            began = launched_at if launched_at is not None else time.time()
            self._open_gap(fault, began)
            try:
                for piece in lost:
                    piece.install()
            except Exception as error:
                self._log.error(
                    "%s restarted: re-applying %s failed, it is not in force: %s", service, fault.name, error
                )
                continue
            self._close_gap(fault)
            self._log.warning("%s restarted without %s in force: re-applied (a gap in the fault)", service, fault.name)

    def _open_gap(self, fault: Fault, start: float) -> None:
        if fault._event is not None:
            with self._lock:
                fault._event.params.setdefault("gaps", []).append([round(start, 3), None])

    def _close_gap(self, fault: Fault) -> None:
        if fault._event is None:
            return
        with self._lock:
            for gap in fault._event.params.get("gaps", []):
                if gap[1] is None:
                    gap[1] = round(time.time(), 3)

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
