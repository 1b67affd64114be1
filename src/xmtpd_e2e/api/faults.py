"""The fault API of an environment: every fault kind of the registry, bound to its services.

Reached as ``env.faults.apply("partition", groups=[{300}])`` or through the familiar shortcuts
(``env.partition(...)``, ``env.cut(...)``, ``node.add_packet_loss(...)``, ``node.pause()``,
``node.add_latency(...)`` ...), each of which names one kind of
:mod:`xmtpd_e2e.faults.registry`.  Every applied fault is a :class:`~xmtpd_e2e.faults.controller.Fault`
(a timed ``fault`` span on ``env.timeline``, healed by ``fault.heal()`` or ``env.heal()``).

This module also resolves what faults name: participants are named by node id (``100``), alias
(``"node-100"``, ``"gateway-0"``), handle, or one of ``"chain"`` (anvil), ``"clients"`` (the
framework's clients), ``"database"`` (the host's Postgres, as nodes reach it) and
``"validation"`` (the MLS validation service).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import urlsplit

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.capabilities import Capabilities, capabilities_of
from xmtpd_e2e.faults.controller import Fault, FaultController
from xmtpd_e2e.faults.links import CHAIN, CLIENTS, DATABASE, VALIDATION, Participant
from xmtpd_e2e.faults.netfilter import Flow
from xmtpd_e2e.faults.registry import FaultUnavailable, UnknownFaultKind, kind, kinds
from xmtpd_e2e.runtime.base import RunningService
from xmtpd_e2e.services.validation import ALIAS as VALIDATION_ALIAS

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.api.gateway_handle import GatewayHandle
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["EnvironmentFaults", "ParticipantRef", "ServiceHandle", "ip_or_none"]

ParticipantRef = Union[int, str, "NodeHandle", "GatewayHandle"]
ServiceHandle = Union["NodeHandle", "GatewayHandle"]


def _port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def ip_or_none(host: str) -> str | None:
    """``host`` if it is an IP address (a name cannot go in an iptables rule), else None."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host


_ip_or_none = ip_or_none  # the name database_faults imports; both stay until it moves to a kind


class EnvironmentFaults:
    """Applies registry kinds to one environment (see module docstring)."""

    def __init__(self, env: Environment, controller: FaultController) -> None:
        self._env = env
        self.controller = controller
        self._capabilities: Capabilities | None = None

    @property
    def env(self) -> Environment:
        return self._env

    # -- the one entry point -----------------------------------------------------------------
    def apply(self, name: str, **params: Any) -> Fault:
        """Apply the registry kind ``name`` with ``params`` (its documented parameters).

        Refused with the runtime's reason when the runtime lacks what the kind needs; a kind
        that replaces its own kind on the same target (a toxic) heals that one first.
        """
        chosen = kind(name)
        reason = chosen.unavailable(self.capabilities())
        if reason is not None:
            usable = [k.name for k in kinds() if k.unavailable(self.capabilities()) is None]
            raise FaultUnavailable(
                f"fault {name!r} cannot act on the {self._env.runtime.name} runtime here: {reason}",
                f"use a fault this runtime offers ({', '.join(usable)}), or a runtime/machine that has what it needs",
            )
        plan = chosen.plan(self, params)
        if chosen.exclusive:
            for old in self.controller.active(name):
                if old.targets == plan.targets:
                    old.heal()
        return self.controller.apply(name, plan.targets, dict(plan.params), plan.pieces, label=plan.label)

    def capabilities(self) -> Capabilities:
        """What this environment's runtime offers to faults (probed once)."""
        if self._capabilities is None:
            self._capabilities = capabilities_of(self._env.runtime)
        return self._capabilities

    def heal(self) -> None:
        """End every fault in force, of every kind: rules and shaping removed, toxics removed,
        proxies enabled, pauses resumed, stopped services started.  While the environment is
        being torn down, a service a fault stopped is not started again only to be removed."""
        if getattr(self._env, "_closed", False):  # Environment.close began: it heals, then removes
            for fault in self.controller.active():
                if not _undone_at_teardown(fault.name):
                    self.controller.heal(fault, undo=False)
        self.controller.heal_all()

    # -- shortcuts the README documents --------------------------------------------------------
    def partition(self, *groups: Iterable[ParticipantRef]) -> Fault:
        """Split the cluster: no traffic between members of different groups, both ways.

        Nodes and gateways named in no group form one more group together, so
        ``partition({300})`` isolates node 300 from every other node and gateway.
        """
        return self.apply("partition", groups=groups)

    def cut(self, source: ParticipantRef, destination: ParticipantRef) -> Fault:
        """One-way: ``source`` can no longer reach ``destination``; ``destination`` still reaches
        ``source`` (``cut(100, 200)``: node 100 stops receiving 200's envelopes)."""
        return self.apply("cut", source=source, destination=destination)

    def add_packet_loss(
        self, percent: float, between: Sequence[ParticipantRef] | None = None, *, on: ParticipantRef | None = None
    ) -> Fault:
        """Drop ``percent`` % of packets at random: all of ``on``'s, or those between two participants."""
        return self.apply("packet-loss", percent=percent, between=between, on=on)

    def limit_bandwidth(self, on: ParticipantRef, kilobytes_per_second: int) -> Fault:
        """At most ``kilobytes_per_second`` in and out of the service's interface (tc tbf)."""
        return self.apply("bandwidth", on=on, kilobytes_per_second=kilobytes_per_second)

    def add_duplication(self, on: ParticipantRef, percent: float) -> Fault:
        """Duplicate ``percent`` % of the service's packets (needs the kernel's netem)."""
        return self.apply("duplication", on=on, percent=percent)

    def add_reordering(self, on: ParticipantRef, percent: float, delay_ms: int = 10) -> Fault:
        """Send ``percent`` % of packets at once, the others ``delay_ms`` late (netem reorder)."""
        return self.apply("reordering", on=on, percent=percent, delay_ms=delay_ms)

    def pause(self, target: ParticipantRef) -> Fault:
        """SIGSTOP the service (node, gateway or chain): a hung process, its sockets open."""
        return self.apply("pause", on=target)

    def resume(self, target: ParticipantRef) -> None:
        """End the pause of ``target`` (no-op if it is not paused)."""
        self.heal_on(target, ("pause",))

    def heal_on(self, target: ParticipantRef, names: Sequence[str]) -> None:
        """Heal every fault of the kinds ``names`` that acts on ``target``."""
        alias = self.participant(target).name
        for fault in self.controller.active():
            if fault.name in names and alias in fault.targets:
                fault.heal()

    # -- service lifecycle ---------------------------------------------------------------------
    def start_service(self, alias: str, service: RunningService) -> None:
        """Start ``service`` (a node, gateway or the validation service) again, carrying the faults
        on it over: pieces the restart took away are installed before its program runs where the
        runtime can hold it back (see :meth:`RunningService.start`), else right after, with a gap
        (see :meth:`FaultController.service_restarted`)."""
        launched_at = time.time()  # a fault not in force after the restart has a gap from here
        service.start(before_run=lambda: self.controller.install_before_run(alias))
        self.controller.service_restarted(alias, launched_at)

    def service_stopped(self, alias: str) -> None:
        """A stopped or killed service is no longer paused: its pause fault ends."""
        self.heal_on(alias, ("pause",))

    # -- resolution, for the kinds ------------------------------------------------------------
    def handle(self, ref: ParticipantRef) -> ServiceHandle:
        """The node or gateway handle ``ref`` names (faults on a proxy or a process need one)."""
        from xmtpd_e2e.api.gateway_handle import GatewayHandle
        from xmtpd_e2e.api.node_handle import NodeHandle

        resolved = self._resolve(ref)
        if not isinstance(resolved, (NodeHandle, GatewayHandle)):
            raise E2EError(f"{ref!r} is not a node or a gateway; this fault acts on one")
        return resolved

    def service_of(self, where: Participant) -> RunningService:
        services = self._env.runtime.services()
        alias = {CHAIN: "anvil", VALIDATION: VALIDATION_ALIAS}.get(where.name, where.name)
        if alias not in services:
            raise E2EError(f"{where.name} is not a service of this environment")
        return services[alias]

    def services(self) -> list[Participant]:
        """Every node and gateway, as participants."""
        env = self._env
        return [self.participant(node) for node in env.nodes()] + [self.participant(g) for g in env.gateways()]

    def _resolve(self, ref: ParticipantRef) -> ServiceHandle | str:
        env = self._env
        if isinstance(ref, int):
            return env.node(ref)
        if isinstance(ref, str) and ref.startswith("node-") and ref[5:].isdigit():
            return env.node(int(ref[5:]))
        if isinstance(ref, str) and ref not in (CHAIN, CLIENTS, DATABASE, VALIDATION):
            matches = [g for g in env.gateways() if g.alias == ref]
            if not matches:
                raise E2EError(
                    f"unknown fault participant {ref!r}: use a node id (100), an alias (node-100, "
                    f"{', '.join(g.alias for g in env.gateways()) or 'gateway-0'}), a handle, or one of "
                    f"{CHAIN!r}, {CLIENTS!r}, {DATABASE!r}, {VALIDATION!r}"
                )
            return matches[0]
        return ref

    def participant(self, ref: ParticipantRef) -> Participant:
        """What ``ref`` is to a network fault: its namespace and how others reach it."""
        resolved = self._resolve(ref)
        if not isinstance(resolved, str):
            return self._service_participant(resolved)
        host = self._env.runtime.host_network_address()
        if resolved in (CHAIN, VALIDATION):
            service = self.service_of(Participant(resolved, lambda: None))
            return Participant(
                resolved,
                lambda: _fault_namespace(service),
                (Flow(service.network_address(), None),),
                (Flow(host, None, service.spec.ports[0]),) if host else (),
                initiates=False,
            )
        if resolved == DATABASE:
            address, port = self.database_endpoint()
            return Participant(DATABASE, lambda: None, (Flow(ip_or_none(address), port),), initiates=False)
        return Participant(CLIENTS, lambda: None)

    def _service_participant(self, handle: ServiceHandle) -> Participant:
        from xmtpd_e2e.api.node_handle import NodeHandle

        service = handle.service
        host = self._env.runtime.host_network_address()
        proxy_port = _port_of(handle.proxy.internal_address)
        api_port = service.spec.ports[0]
        toxiproxy = self._env.chaos_service.network_address()
        reached = [Flow(service.network_address(), None)]
        if toxiproxy is not None:
            reached.insert(0, Flow(toxiproxy, proxy_port))
        # Clients reach a node directly (from the host's address on the network) and a gateway
        # through its proxy; nodes never connect to gateways, so on a gateway every connection
        # to its API port is a client's.
        client_flows = (
            (Flow(host, None, api_port),) if isinstance(handle, NodeHandle) else (Flow(None, None, api_port),)
        )
        return Participant(
            handle.alias,
            lambda: _fault_namespace(service),
            tuple(f for f in reached if f.remote_ip),
            client_flows if host is not None else (),
        )

    def database_endpoint(self) -> tuple[str, int]:
        """Host and port at which nodes reach Postgres (a forwarder on the local runtime's bridge,
        ``host.docker.internal`` on docker, the environment's Postgres pod on kubernetes), derived
        as the nodes' own settings are."""
        env = self._env
        return env.runtime.reach_host_port(urlsplit(env.postgres_service_dsn).port or 5432)


def _undone_at_teardown(name: str) -> bool:
    try:
        return kind(name).undo_at_teardown
    except UnknownFaultKind:  # applied straight through the controller
        return True


def _fault_namespace(service: RunningService) -> Any:
    """The namespace that holds the service's network faults: the one that outlives its process
    where the runtime keeps one, else the running process's."""
    return service.fault_namespace()
