"""A slow path from one service to something it dials (its database, the chain): every response
on that path delayed.

The kernels this project runs on have no netem, so ``tc`` cannot delay packets.  Instead the
service's connections to that destination are steered through a toxiproxy proxy of their own: a
``DNAT`` rule in the service's network namespace (``nat`` table, ``OUTPUT``) rewrites every new
connection to the destination's address and port to the proxy, which forwards it to the real
destination with a latency toxic on what comes back.  Connections opened before the rule are
then ended (``reset``: the database's sessions terminated, the chain's sockets destroyed with
``ss -K``), so the service dials again -- through the proxy.  Only that service's path changes.

Healing deletes the rule and the toxic: connections already through the proxy stay there,
undelayed, and new ones go direct again.  The rule lives in the namespace that holds the
service's faults, so it outlives a restart of the service where that namespace does.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.capabilities import NAMESPACE_RULES, TOXIPROXY
from xmtpd_e2e.faults.namespace import NamespaceGone, run_in_namespace
from xmtpd_e2e.faults.registry import FaultKind, FaultPlan, Param

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from xmtpd_e2e.api.faults import EnvironmentFaults
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = [
    "SteeredPath",
    "nat_chain_name",
    "destroy_connections",
    "steered_path_for",
    "SlowPathKind",
]


def nat_chain_name(prefix: str, alias: str) -> str:
    """The nat chain holding one service's redirect (iptables chain names stop at 28 characters)."""
    return f"E2E-{prefix}-{alias}"[:28]


def destroy_connections(namespace: str, address: str | None, port: int) -> None:
    """End every TCP connection of the namespace to ``address:port`` now (``ss -K``: the kernel
    aborts the sockets; their owner sees ECONNABORTED and must dial again)."""
    selector = (["dst", address] if address else []) + ["dport", "=", str(port)]
    run_in_namespace(namespace, ["ss", "-K", *selector], check=False)


class SteeredPath:
    """See module docstring."""

    def __init__(
        self,
        *,
        alias: str,
        what: str,
        namespace: Callable[[], str | None],
        destination: tuple[str | None, int],
        proxy: Callable[[], tuple[str, int]],
        set_latency: Callable[[int], None],
        clear_latency: Callable[[], None],
        latency_ms: int,
        reset: Callable[[str], None],
        tag: str,
    ) -> None:
        """``destination``: the address (None when the service dials a name, e.g.
        ``host.docker.internal``: then the port alone is matched) and port; ``proxy``: makes the
        proxy if need be and returns its listener as the service reaches it;
        ``set_latency``/``clear_latency`` put and take the toxic; ``reset(namespace)`` ends the
        connections opened before the rule; ``tag`` names the rule's chain (``DBPATH``)."""
        self.alias = alias
        self.what = what
        self._namespace = namespace
        self._destination = destination
        self._proxy = proxy
        self._set_latency = set_latency
        self._clear_latency = clear_latency
        self._reset = reset
        self.latency_ms = latency_ms
        self.chain = nat_chain_name(tag, alias)

    def describe(self) -> str:
        address, port = self._destination
        return (
            f"{self.alias}: its {self.what} connections ({address or '*'}:{port}) steered through a toxiproxy "
            f"proxy, +{self.latency_ms} ms per response"
        )

    def rules(self, proxy: tuple[str, int]) -> str:
        """The ``iptables-restore --noflush`` input: a fresh chain with the redirect, jumped to."""
        address, port = self._destination
        match = (["-d", address] if address else []) + ["-p", "tcp", "--dport", str(port)]
        return "\n".join(
            [
                "*nat",
                f":{self.chain} - [0:0]",
                f"-A {self.chain} {' '.join(match)} -j DNAT --to-destination {proxy[0]}:{proxy[1]}",
                f"-I OUTPUT -j {self.chain}",
                "COMMIT",
                "",
            ]
        )

    def install(self) -> None:
        proxy = self._proxy()
        self._set_latency(self.latency_ms)
        namespace = self._namespace()
        if namespace is None:
            return  # not running: installed when it starts again
        self._remove_rules(namespace)
        run_in_namespace(namespace, ["iptables-restore", "--noflush", "-w", "10"], stdin=self.rules(proxy))
        self._reset(namespace)

    def remove(self) -> None:
        namespace = self._namespace()
        if namespace is not None:
            try:
                self._remove_rules(namespace)
            except NamespaceGone:
                pass
        self._clear_latency()

    def redirecting(self) -> bool:
        """Whether the redirect is in the service's namespace now."""
        namespace = self._namespace()
        if namespace is None:
            return False
        listed = run_in_namespace(namespace, ["iptables", "-w", "10", "-t", "nat", "-S", "OUTPUT"], check=False)
        return f"-j {self.chain}" in listed.stdout

    def _remove_rules(self, namespace: str) -> None:
        listed = run_in_namespace(namespace, ["iptables", "-w", "10", "-t", "nat", "-S", self.chain], check=False)
        if listed.returncode != 0:
            return  # no such chain
        run_in_namespace(namespace, ["iptables", "-w", "10", "-t", "nat", "-D", "OUTPUT", "-j", self.chain])
        run_in_namespace(namespace, ["iptables", "-w", "10", "-t", "nat", "-F", self.chain])
        run_in_namespace(namespace, ["iptables", "-w", "10", "-t", "nat", "-X", self.chain])


def steered_path_for(
    faults: EnvironmentFaults,
    node: NodeHandle,
    *,
    what: str,
    tag: str,
    destination: tuple[str, int],
    latency_ms: int,
    reset: Callable[[str], None],
) -> SteeredPath:
    """The steered path from ``node`` to ``destination`` (host and port as the node dials them),
    through a proxy named ``<what>-<alias>`` in the environment's toxiproxy, made on first use."""
    from xmtpd_e2e.api.faults import ip_or_none

    proxy_ip = faults.env.chaos_service.network_address()
    if proxy_ip is None:
        raise E2EError(f"toxiproxy has no address on the environment's network; the {what} path cannot be steered")
    host, port = destination
    chaos, name = node.chaos, f"{what}-{node.alias}"

    def ensure_proxy() -> tuple[str, int]:
        existing = chaos.proxies().get(name)
        if existing:
            return proxy_ip, int(str(existing["listen"]).rsplit(":", 1)[1])
        return proxy_ip, chaos.create_proxy(name, f"{host}:{port}").listen_port

    participant = faults.participant(node)

    def namespace() -> str | None:
        found = participant.namespace()
        return None if found is None else str(found)

    return SteeredPath(
        alias=node.alias,
        what=what,
        namespace=namespace,
        destination=(ip_or_none(host), port),
        proxy=ensure_proxy,
        set_latency=lambda ms: chaos.add_toxic(name, "latency", "latency", {"latency": ms, "jitter": 0}),
        clear_latency=lambda: chaos.remove_toxic(name, "latency"),
        latency_ms=latency_ms,
        reset=reset,
        tag=tag,
    )


class SlowPathKind(FaultKind):
    """A kind that slows one node's path to something it dials: the parameters ``on`` and
    ``latency_ms``, the plan, and the capabilities are the same for every such path; a subclass
    says where the path goes (:meth:`destination`) and how its open connections are ended
    (:meth:`reset`)."""

    what: ClassVar[str]
    """The path's name: the proxy is ``<what>-<node alias>``."""
    tag: ClassVar[str]
    """Tags the path's NAT rules in the node's namespace."""
    latency_draws: ClassVar[tuple[int, ...]]
    """The latencies explore draws for this path."""
    needs = frozenset({NAMESPACE_RULES, TOXIPROXY})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "what" in cls.__dict__:  # a concrete path: its parameters, said once here
            cls.params = (
                Param("on", object, "the node"),
                Param("latency_ms", int, f"delay added to each response from the {cls.what}", draws=cls.latency_draws),
            )

    @abc.abstractmethod
    def destination(self, faults: EnvironmentFaults) -> tuple[str, int]:
        """Host and port as the node dials them."""

    @abc.abstractmethod
    def reset(self, faults: EnvironmentFaults, node: NodeHandle, destination: tuple[str, int]) -> Callable[[str], None]:
        """Ends the node's connections opened before the rule (given its namespace)."""

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        from xmtpd_e2e.api.node_handle import NodeHandle
        from xmtpd_e2e.faults.controller import Piece

        latency_ms = int(params.get("latency_ms") or 0)
        if latency_ms <= 0:
            raise E2EError(f"{self.name}: latency_ms must be a positive number of milliseconds, got {latency_ms}")
        node = faults.handle(params["on"])
        if not isinstance(node, NodeHandle):
            raise E2EError(f"{node.alias} is not a node; {self.name} acts on a node's own path")
        destination = self.destination(faults)
        path = steered_path_for(
            faults,
            node,
            what=self.what,
            tag=self.tag,
            destination=destination,
            latency_ms=latency_ms,
            reset=self.reset(faults, node, destination),
        )
        # One piece, kept in force across restarts of its service (checked by its rule).
        piece = Piece(path.describe(), path.install, path.remove, path.alias, present=path.redirecting)
        return FaultPlan([piece], (path.alias,), {"latency_ms": latency_ms, "via": "toxiproxy"})
