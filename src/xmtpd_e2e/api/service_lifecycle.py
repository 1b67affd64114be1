"""Stop, start and look at one service: shared by the node, gateway and validation handles.

A stop or start is a timed event on the environment's timeline and goes through the environment's
fault API when there is one, so that faults in force on the service follow it across a restart
(they are re-applied before it runs again) and a stopped service is never "healed" by mistake.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from xmtpd_e2e.runtime.base import RunningService, ServiceState
from xmtpd_e2e.timeline import Timeline

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults

__all__ = ["ServiceLifecycle"]


class ServiceLifecycle:
    """Mixin: needs ``_alias`` (its name as a fault participant), ``_faults``, ``_log``,
    ``_timeline`` and the :attr:`service` it drives."""

    _alias: str
    _faults: EnvironmentFaults | None
    _log: logging.Logger
    _timeline: Timeline

    @property
    def service(self) -> RunningService:
        raise NotImplementedError

    @property
    def _event_name(self) -> str:
        """How the timeline and the log name the service (its alias unless a handle says)."""
        return self._alias

    def stop(self, *, kill: bool = False) -> None:
        """Stop it (``kill=True``: SIGKILL, as in a crash).  What it stores and its address are
        kept for :meth:`start`."""
        name = self._event_name
        self._log.info("stopping %s%s", name, " (kill)" if kill else "")
        self._timeline.instant("service", "kill" if kill else "stop", (name,))
        self.service.stop(graceful=not kill)
        if self._faults is not None:
            self._faults.service_stopped(self._alias)

    def start(self) -> None:
        """Start it again (same identity, key, storage and address); waits until it is ready."""
        name = self._event_name
        self._log.info("starting %s", name)
        with self._timeline.span("service", "start", (name,)):
            if self._faults is None:
                self.service.start()
            else:
                self._faults.start_service(self._alias, self.service)

    def state(self) -> ServiceState:
        return self.service.state()

    @property
    def is_running(self) -> bool:
        return self.state() is ServiceState.RUNNING

    def logs(self) -> str:
        """Everything it has logged, across restarts."""
        return self.service.logs()
