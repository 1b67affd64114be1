"""The fault API of an environment: partitions, one-way cuts, packet loss, bandwidth, pauses.

Reached as ``env.partition(...)``, ``env.cut(...)``, ``node.add_packet_loss(...)``,
``node.pause()`` and friends; this module turns those into pieces the
:class:`~xmtpd_e2e.faults.controller.FaultController` installs.  Network faults act inside each
service's own network namespace (a container's, or one the local runtime created), so what a
node experiences is real packet loss, not a proxy's imitation; pauses are SIGSTOP.

Participants are named by node id (``100``), alias (``"node-100"``, ``"gateway-0"``), handle, or
one of ``"chain"`` (anvil), ``"clients"`` (the framework's clients) and ``"database"`` (the host's
Postgres, as nodes reach it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Union
from urllib.parse import urlsplit

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.controller import Fault, FaultController, Piece
from xmtpd_e2e.faults.links import (
    CHAIN,
    CLIENTS,
    DATABASE,
    Participant,
    RuleTarget,
    cut_flows,
    merge_targets,
    partition_flows,
)
from xmtpd_e2e.faults.namespace import require_network_tools
from xmtpd_e2e.faults.netfilter import DropRules, Flow, chain_name
from xmtpd_e2e.faults.shaping import BandwidthLimit, NetemQdisc, interface_with_address
from xmtpd_e2e.runtime.base import RunningService

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.api.gateway_handle import GatewayHandle
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["EnvironmentFaults", "ParticipantRef", "PARTITION_FAULTS"]

ParticipantRef = Union[int, str, "NodeHandle", "GatewayHandle"]
PARTITION_FAULTS = ("partition", "cut", "packet-loss", "bandwidth", "duplication", "reordering")


def _port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _ip_or_none(host: str) -> str | None:
    """``host`` if it is an IP address (a name cannot go in an iptables rule), else None."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host


class EnvironmentFaults:
    """Builds faults from an environment's services (see module docstring)."""

    def __init__(self, env: Environment, controller: FaultController) -> None:
        self._env = env
        self.controller = controller

    # -- network: partitions and cuts ---------------------------------------------------------
    def partition(self, *groups: Iterable[ParticipantRef]) -> Fault:
        """Split the cluster: no traffic between members of different groups, both ways.

        Nodes and gateways named in no group form one more group together, so
        ``partition({300})`` isolates node 300 from every other node and gateway.  Established
        sync streams stall (their packets are dropped), as in a real partition.
        """
        self._require_network_faults()
        named = [[self._participant(ref) for ref in group] for group in groups]
        names = {p.name for group in named for p in group}
        rest = [p for p in self._services() if p.name not in names]
        if rest:
            named.append(rest)
        targets = partition_flows(named)
        group_names = [sorted(p.name for p in group) for group in named]
        return self._drop("partition", targets, {"groups": group_names})

    def cut(self, source: ParticipantRef, destination: ParticipantRef) -> Fault:
        """One-way: ``source`` can no longer reach ``destination`` (its connections there stall
        or fail); connections ``destination`` opens to ``source`` keep working.

        With xmtpd's pull-based sync, ``cut(100, 200)`` means node 100 stops receiving node
        200's envelopes while 200 still receives 100's.  ``cut("clients", 100)`` is the client
        path, ``cut(100, "chain")`` and ``cut(100, "database")`` the node's chain and DB paths.
        """
        self._require_network_faults()
        a, b = self._participant(source), self._participant(destination)
        return self._drop("cut", [cut_flows(a, b)], {"from": a.name, "to": b.name})

    def add_packet_loss(
        self, percent: float, between: Sequence[ParticipantRef] | None = None, *, on: ParticipantRef | None = None
    ) -> Fault:
        """Drop ``percent`` % of packets, each direction, at random (iptables ``statistic``).

        ``on=X``: every packet of X's own interface (peers, chain, database, clients).
        ``between=(A, B)``: only traffic between A and B, in both directions of the link.
        """
        if not 0 < percent <= 100:
            raise E2EError(f"packet loss must be in (0, 100] percent, got {percent}")
        if (on is None) == (between is None):
            raise E2EError("add_packet_loss needs exactly one of on=<participant> or between=(a, b)")
        self._require_network_faults()
        if on is not None:
            where = self._participant(on)
            targets = [RuleTarget(where, (Flow(),))]
            params = {"percent": percent, "on": where.name}
        else:
            assert between is not None
            if len(between) != 2:
                raise E2EError("between= takes exactly two participants")
            a, b = (self._participant(ref) for ref in between)
            targets = []
            for source, destination in ((a, b), (b, a)):
                try:
                    targets.append(cut_flows(source, destination))
                except E2EError:
                    continue
            if not targets:
                raise E2EError(f"{a.name} and {b.name} never talk to each other; no link to degrade")
            targets = merge_targets(targets)
            params = {"percent": percent, "between": [a.name, b.name]}
        return self._drop("packet-loss", targets, params, probability=percent / 100.0)

    def heal(self) -> None:
        """End every fault begun through this API: rules and shaping removed, pauses resumed."""
        self.controller.heal_all()

    # -- network: shaping --------------------------------------------------------------------
    def limit_bandwidth(self, on: ParticipantRef, kilobytes_per_second: int) -> Fault:
        """At most ``kilobytes_per_second`` in and out of the service's interface (tc tbf)."""
        where = self._participant(on)
        service = self._service_of(where)
        namespace = self._namespace_of(where)
        limit = BandwidthLimit(interface_with_address(namespace, service.network_address()), kilobytes_per_second)
        piece = Piece(
            f"{where.name}: tbf {kilobytes_per_second} KB/s each way",
            lambda: limit.install(self._namespace_of(where)),
            lambda: self._remove_if_present(where, limit.remove),
            where.name,
        )
        return self.controller.apply(
            "bandwidth", (where.name,), {"kilobytes_per_second": kilobytes_per_second}, [piece]
        )

    def add_duplication(self, on: ParticipantRef, percent: float) -> Fault:
        """Duplicate ``percent`` % of the service's packets (needs netem in the kernel)."""
        return self._netem("duplication", on, ("duplicate", f"{percent}%"), {"percent": percent})

    def add_reordering(self, on: ParticipantRef, percent: float, delay_ms: int = 10) -> Fault:
        """Send ``percent`` % of packets at once, the others ``delay_ms`` late (netem reorder)."""
        return self._netem(
            "reordering",
            on,
            ("delay", f"{delay_ms}ms", "reorder", f"{percent}%"),
            {"percent": percent, "delay_ms": delay_ms},
        )

    # -- processes ---------------------------------------------------------------------------
    def pause(self, target: ParticipantRef) -> Fault:
        """SIGSTOP the service (node, gateway or chain): a hung process, its sockets open."""
        where = self._participant(target)
        service = self._service_of(where)
        piece = Piece(f"{where.name}: SIGSTOP", service.pause, service.resume, where.name, survives_restart=False)
        return self.controller.apply("pause", (where.name,), {}, [piece])

    def service_restarted(self, alias: str) -> None:
        """Called after a node or gateway (re)started: see FaultController.service_restarted."""
        self.controller.service_restarted(alias)

    def service_stopped(self, alias: str) -> None:
        """A stopped or killed service is no longer paused: its pause fault ends."""
        self.resume(alias)

    def resume(self, target: ParticipantRef) -> None:
        """End the pause of ``target`` (no-op if it is not paused)."""
        name = self._participant(target).name
        for fault in self.controller.active("pause"):
            if name in fault.targets:
                fault.heal()

    # -- internals ---------------------------------------------------------------------------
    def _drop(
        self, name: str, targets: Sequence[RuleTarget], params: dict[str, object], *, probability: float = 1.0
    ) -> Fault:
        fault_id = self.controller.next_id()
        pieces = []
        for target in targets:
            where = target.where
            self._require_namespace(where)
            rules = DropRules(chain_name(fault_id), target.flows, probability)
            pieces.append(self._drop_piece(where, rules))
        affected = tuple(sorted({t.where.name for t in targets}))
        return self.controller.apply(name, affected, params, pieces, fault_id=fault_id)

    def _drop_piece(self, where: Participant, rules: DropRules) -> Piece:
        share = "all" if rules.probability >= 1 else f"{rules.probability:.0%}"
        return Piece(
            f"{where.name}: drop {share} of " + "; ".join(flow.describe() for flow in rules.flows),
            lambda: rules.install(self._namespace_of(where)),
            lambda: self._remove_if_present(where, rules.remove),
            where.name,
        )

    def _netem(self, name: str, on: ParticipantRef, options: tuple[str, ...], params: dict[str, object]) -> Fault:
        where = self._participant(on)
        service = self._service_of(where)
        namespace = self._namespace_of(where)
        qdisc = NetemQdisc(interface_with_address(namespace, service.network_address()), options, f"packet {name}")
        piece = Piece(
            f"{where.name}: netem {' '.join(options)}",
            lambda: qdisc.install(self._namespace_of(where)),
            lambda: self._remove_if_present(where, qdisc.remove),
            where.name,
        )
        return self.controller.apply(name, (where.name,), params, [piece])

    @staticmethod
    def _remove_if_present(where: Participant, remove: Callable[[str], None]) -> None:
        namespace = where.namespace()
        if namespace is not None:  # a stopped service's namespace and rules are gone with it
            remove(str(namespace))

    def _require_network_faults(self) -> None:
        """Refuse at once, with the runtime's reason, where no network fault can act (before
        participants are resolved: without a network of their own, no flow can name them)."""
        problem = self._env.runtime.network_faults_unavailable()
        if problem is not None:
            raise problem

    def _require_namespace(self, where: Participant) -> None:
        self._require_network_faults()
        if where.namespace() is None:
            raise E2EError(f"{where.name} is not running, so it has no network to fault")
        require_network_tools()

    def _namespace_of(self, where: Participant) -> str:
        self._require_namespace(where)
        namespace = where.namespace()
        assert namespace is not None
        return str(namespace)

    def _service_of(self, where: Participant) -> RunningService:
        services = self._env.runtime.services()
        alias = "anvil" if where.name == CHAIN else where.name
        if alias not in services:
            raise E2EError(f"{where.name} is not a service of this environment")
        return services[alias]

    def _services(self) -> list[Participant]:
        """Every node and gateway, as participants."""
        env = self._env
        return [self._participant(node) for node in env.nodes()] + [self._participant(g) for g in env.gateways()]

    def _participant(self, ref: ParticipantRef) -> Participant:
        from xmtpd_e2e.api.gateway_handle import GatewayHandle
        from xmtpd_e2e.api.node_handle import NodeHandle

        env = self._env
        runtime = env.runtime
        if isinstance(ref, int):
            ref = env.node(ref)
        elif isinstance(ref, str) and ref.startswith("node-") and ref[5:].isdigit():
            ref = env.node(int(ref[5:]))
        elif isinstance(ref, str) and ref not in (CHAIN, CLIENTS, DATABASE):
            matches = [g for g in env.gateways() if g.alias == ref]
            if not matches:
                raise E2EError(
                    f"unknown fault participant {ref!r}: use a node id (100), an alias (node-100, "
                    f"{', '.join(g.alias for g in env.gateways()) or 'gateway-0'}), a handle, or one of "
                    f"{CHAIN!r}, {CLIENTS!r}, {DATABASE!r}"
                )
            ref = matches[0]
        host = runtime.host_network_address()
        if isinstance(ref, (NodeHandle, GatewayHandle)):
            service = ref.service
            proxy_port = _port_of(ref.proxy.internal_address)
            api_port = service.spec.ports[0]
            toxiproxy = env.chaos_service.network_address()
            reached = [Flow(service.network_address(), None)]
            if toxiproxy is not None:
                reached.insert(0, Flow(toxiproxy, proxy_port))
            # Clients reach a node directly (from the host's address on the network) and a
            # gateway through its proxy; nodes never connect to gateways, so on a gateway every
            # connection to its API port is a client's.
            client_flows = (
                (Flow(host, None, api_port),) if isinstance(ref, NodeHandle) else (Flow(None, None, api_port),)
            )
            return Participant(
                ref.alias,
                service.network_namespace,
                tuple(f for f in reached if f.remote_ip),
                client_flows if host is not None else (),
            )
        if ref == CHAIN:
            anvil = env.chain_service
            return Participant(
                CHAIN,
                anvil.network_namespace,
                (Flow(anvil.network_address(), None),),
                (Flow(host, None, anvil.spec.ports[0]),) if host else (),
                initiates=False,
            )
        if ref == DATABASE:
            address, port = self.database_endpoint()
            return Participant(DATABASE, lambda: None, (Flow(_ip_or_none(address), port),), initiates=False)
        assert ref == CLIENTS
        return Participant(CLIENTS, lambda: None)

    def database_endpoint(self) -> tuple[str, int]:
        """Host and port at which nodes reach Postgres (a forwarder on the local runtime's bridge,
        ``host.docker.internal`` on docker, the environment's Postgres pod on kubernetes), derived
        as the nodes' own settings are."""
        env = self._env
        return env.runtime.reach_host_port(urlsplit(env.postgres_service_dsn).port or 5432)
