"""Faults on one service, shared by node and gateway handles (``node.pause()``, ...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xmtpd_e2e.errors import E2EError

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults
    from xmtpd_e2e.faults.controller import Fault

__all__ = ["ServiceFaults"]


class ServiceFaults:
    """Mixin: needs ``_alias`` and ``_faults`` (the environment's fault API)."""

    _alias: str
    _faults: EnvironmentFaults | None

    def _fault_api(self) -> EnvironmentFaults:
        if self._faults is None:
            raise E2EError(f"{self._alias} was built without an environment; faults need one")
        return self._faults

    def pause(self) -> Fault:
        """SIGSTOP: the process hangs with its connections open until :meth:`resume`."""
        return self._fault_api().pause(self._alias)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause` (no-op if not paused)."""
        self._fault_api().resume(self._alias)

    def add_packet_loss(self, percent: float) -> Fault:
        """Drop ``percent`` % of this service's packets, each direction, at random (all of its
        traffic: peers, chain, database, clients).  ``env.add_packet_loss`` degrades one link."""
        return self._fault_api().add_packet_loss(percent, on=self._alias)

    def limit_bandwidth(self, kilobytes_per_second: int) -> Fault:
        """At most this many KB/s in and out of this service's network interface (tc)."""
        return self._fault_api().limit_bandwidth(self._alias, kilobytes_per_second)

    def add_duplication(self, percent: float) -> Fault:
        """Duplicate packets (needs netem; a clear SetupError on kernels without it)."""
        return self._fault_api().add_duplication(self._alias, percent)

    def add_reordering(self, percent: float, delay_ms: int = 10) -> Fault:
        """Reorder packets (needs netem; a clear SetupError on kernels without it)."""
        return self._fault_api().add_reordering(self._alias, percent, delay_ms)
