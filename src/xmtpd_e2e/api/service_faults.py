"""Faults on one service, shared by node and gateway handles (``node.pause()``, ...).

Each method names one kind of :mod:`xmtpd_e2e.faults.registry` and returns its
:class:`~xmtpd_e2e.faults.controller.Fault` (healed by ``fault.heal()`` or ``env.heal()``).

Naming: ``limit_bandwidth`` is the kernel's limit on the service's own interface (tc, every
packet, both ways); ``limit_proxy_bandwidth`` is toxiproxy's on what the service's proxy sends
back.  ``add_bandwidth_limit``, the old name of the proxy one, still works with a
DeprecationWarning.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.errors import E2EError

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults
    from xmtpd_e2e.faults.controller import Fault
    from xmtpd_e2e.services.chaos import ChaosController

__all__ = ["ServiceFaults", "PROXY_FAULTS"]

PROXY_FAULTS = ("latency", "proxy-bandwidth", "reset", "timeout")
"""The toxic kinds ``remove_all_toxics()`` heals."""


class ServiceFaults:
    """Mixin: needs ``_alias``, ``_chaos`` (toxiproxy) and ``_faults`` (the environment's fault API)."""

    _alias: str
    _chaos: ChaosController
    _faults: EnvironmentFaults | None

    @property
    def chaos(self) -> ChaosController:
        """The toxiproxy controller in front of this service."""
        return self._chaos

    def _fault(self, name: str, **params: Any) -> Fault:
        if self._faults is None:
            raise E2EError(f"{self._alias} was built without an environment; faults need one")
        return self._faults.apply(name, on=self._alias, **params)

    def _heal(self, *names: str) -> None:
        if self._faults is None:
            raise E2EError(f"{self._alias} was built without an environment; faults need one")
        self._faults.heal_on(self._alias, names)

    # -- processes -----------------------------------------------------------------------------
    def pause(self) -> Fault:
        """SIGSTOP: the process hangs with its connections open until :meth:`resume`."""
        return self._fault("pause")

    def resume(self) -> None:
        """SIGCONT after :meth:`pause` (no-op if not paused)."""
        self._heal("pause")

    # -- the service's own network (iptables / tc in its namespace) ----------------------------
    def add_packet_loss(self, percent: float) -> Fault:
        """Drop ``percent`` % of this service's packets, each direction, at random (all of its
        traffic: peers, chain, database, clients).  ``env.add_packet_loss`` degrades one link."""
        return self._fault("packet-loss", percent=percent)

    def limit_bandwidth(self, kilobytes_per_second: int) -> Fault:
        """At most this many KB/s in and out of this service's network interface (tc)."""
        return self._fault("bandwidth", kilobytes_per_second=kilobytes_per_second)

    def add_duplication(self, percent: float) -> Fault:
        """Duplicate packets (needs netem; a clear refusal on kernels without it)."""
        return self._fault("duplication", percent=percent)

    def add_reordering(self, percent: float, delay_ms: int = 10) -> Fault:
        """Reorder packets (needs netem; a clear refusal on kernels without it)."""
        return self._fault("reordering", percent=percent, delay_ms=delay_ms)

    # -- the service's toxiproxy proxy (how others reach it) -----------------------------------
    def add_latency(self, latency_ms: int, jitter_ms: int = 0) -> Fault:
        """Delay what flows back out of this service's proxy by ``latency_ms`` +- ``jitter_ms``
        (toxiproxy: per service, not per link)."""
        return self._fault("latency", latency_ms=latency_ms, jitter_ms=jitter_ms)

    def limit_proxy_bandwidth(self, kilobytes_per_second: int) -> Fault:
        """At most this many KB/s of what the service's proxy sends back (toxiproxy)."""
        return self._fault("proxy-bandwidth", kilobytes_per_second=kilobytes_per_second)

    def add_bandwidth_limit(self, kb_per_second: int) -> Fault:
        """Deprecated name of :meth:`limit_proxy_bandwidth`."""
        warnings.warn(
            "add_bandwidth_limit is now limit_proxy_bandwidth (toxiproxy, on the service's proxy); "
            "limit_bandwidth is the kernel's limit on the service's own interface",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.limit_proxy_bandwidth(kb_per_second)

    def add_connection_reset(self, timeout_ms: int) -> Fault:
        """Reset connections through this service's proxy after ``timeout_ms``."""
        return self._fault("reset", timeout_ms=timeout_ms)

    def add_timeout(self, timeout_ms: int) -> Fault:
        """Black-hole traffic through this service's proxy; close after ``timeout_ms`` (0 = never)."""
        return self._fault("timeout", timeout_ms=timeout_ms)

    def remove_all_toxics(self) -> None:
        """Heal every toxic on this service's proxy (newest first, see ChaosController)."""
        self._heal(*PROXY_FAULTS)

    def disconnect(self) -> Fault:
        """Peers and gateways can no longer reach this service (its proxy disabled); idempotent."""
        return self._fault("disconnect")

    def reconnect(self) -> None:
        """Enable the proxy again (no-op if it is not disconnected)."""
        self._heal("disconnect")
