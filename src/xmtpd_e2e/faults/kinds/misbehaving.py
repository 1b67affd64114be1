"""A misbehaving node: what node X serves to its peers' sync subscriptions is altered.

Peers reach X at the address X registered on chain, X's toxiproxy proxy.  The fault starts a
:class:`~xmtpd_e2e.faults.misbehaving_proxy.MisbehavingProxy` in the framework's process,
forwarding to X, and points X's toxiproxy proxy's upstream at it (toxiproxy closes the proxy's
connections, so every peer subscribes again, through it).  Only what crosses X's registered
address changes: the framework's own clients and readers dial X's port and meet the honest node,
so a test compares what X stores with what its peers stored.  Healing points the proxy back at
X (peers reconnect to the honest node) and stops the server.

The proxy listens on the host at the environment network's gateway (local namespaces: the
bridge's address; docker: the network's gateway) or on loopback when services share the host's
network; kubernetes pods cannot reach the framework's process, so the kinds are not offered there.
The proxy and toxiproxy run apart from X, so the fault outlives X's restart with no window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.capabilities import TOXIPROXY, register_capability
from xmtpd_e2e.faults.controller import Piece
from xmtpd_e2e.faults.misbehaving_proxy import Misbehaviour, MisbehavingProxy
from xmtpd_e2e.faults.registry import FaultKind, FaultPlan, Param, register
from xmtpd_e2e.runtime.base import Runtime

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["HOST_REACHABLE", "Equivocate", "BadSignature", "SkipSequence", "ReplayOld"]

HOST_REACHABLE = "host-reachable"
"""Services can dial a server in the framework's own process (local and docker)."""


def _host_reachable(runtime: Runtime) -> str | None:
    if runtime.name in ("local", "docker"):
        return None
    return f"{runtime.name} services cannot reach a server in the framework's process (local and docker only)"


register_capability(HOST_REACHABLE, _host_reachable)


class _Running:
    """The proxy of one applied fault, between install and remove."""

    def __init__(self, faults: EnvironmentFaults, node: NodeHandle, behaviour: str) -> None:
        self._faults, self._node, self._behaviour = faults, node, behaviour
        self.proxy: MisbehavingProxy | None = None
        self.address = ""

    def install(self) -> None:
        node = self._node
        misbehaviour = Misbehaviour(self._behaviour, node.id, node.signer_key)
        bind = self._faults.env.runtime.host_network_address() or "127.0.0.1"
        self.proxy = MisbehavingProxy(lambda: node.endpoint, misbehaviour, bind)
        self.address = self.proxy.start()
        try:
            node.chaos.set_upstream(node.proxy.name, self.address)
        except BaseException:
            self.proxy.stop()
            raise

    def remove(self) -> None:
        node = self._node
        try:
            node.chaos.set_upstream(node.proxy.name, node.proxy.upstream)
        finally:
            if self.proxy is not None:
                self.proxy.stop()

    def present(self) -> bool:
        return bool(self.address) and self._node.chaos.upstream(self._node.proxy.name) == self.address


class _Misbehaving(FaultKind):
    roles = frozenset({"node"})
    params = (Param("on", object, "the node that misbehaves"),)
    needs = frozenset({TOXIPROXY, HOST_REACHABLE})
    exclusive = True
    adversarial = True

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        from xmtpd_e2e.api.node_handle import NodeHandle

        node = faults.handle(params["on"])
        if not isinstance(node, NodeHandle):
            raise E2EError(f"{node.alias} is not a node; {self.name} makes a node misbehave toward its peers")
        running = _Running(faults, node, self.name)
        piece = Piece(
            f"{node.proxy.name}: upstream through a proxy that serves peers {self.name} envelopes of {node.alias}",
            running.install,
            running.remove,
            node.alias,
            present=running.present,
        )
        return FaultPlan([piece], (node.alias,), {"via": "sync proxy"})


@register
class BadSignature(_Misbehaving):
    name = "bad-signature"
    description = "the node serves peers its envelopes with the originator signature's first byte flipped"


@register
class Equivocate(_Misbehaving):
    name = "equivocate"
    description = (
        "the node serves peers each envelope and then another under the same sequence id, payload changed, "
        "signed with its key"
    )


@register
class SkipSequence(_Misbehaving):
    name = "skip-sequence"
    description = "the node leaves out the first envelope it serves (to one peer), the next arrives with a gap"


@register
class ReplayOld(_Misbehaving):
    name = "replay-old"
    description = "the node sends peers the first envelope it served again, after each response of its envelopes"
