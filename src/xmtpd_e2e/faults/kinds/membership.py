"""Membership faults: a node leaving the canonical network and re-joining it, a node's registered
address changed to one nobody answers at.

Both act on the NodeRegistry contract, the one place xmtpd nodes learn who their peers are and
where to reach them. The node's process keeps running. While it is out of the canonical network
its peers stop syncing from it. While its address is wrong they cannot reach it. Healing puts
back what was there: the node re-joins, or gets its proxy's address again. Nodes read the
registry on their own schedule, so the effect starts and ends within their refresh interval,
not at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.controller import Piece
from xmtpd_e2e.faults.registry import FaultKind, FaultPlan, Param, register

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults
    from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["NodeRemoved", "NodeAddressChanged", "UNREACHABLE_ADDRESS"]

UNREACHABLE_ADDRESS = "http://192.0.2.1:5050"
"""TEST-NET-1 (RFC 5737): routed nowhere, so a dial there hangs until it times out, as a dead host would."""


def _node(faults: EnvironmentFaults, params: Mapping[str, Any], kind: str) -> NodeHandle:
    from xmtpd_e2e.api.node_handle import NodeHandle

    handle = faults.handle(params["on"])
    if not isinstance(handle, NodeHandle):
        raise E2EError(f"{handle.alias} is not a node; {kind} acts on a node's registry entry")
    return handle


@register
class NodeRemoved(FaultKind):
    name = "node-removed"
    description = (
        "the node removed from the canonical network (NodeRegistry.removeFromNetwork) while it runs; "
        "healing adds it back"
    )
    params = (Param("on", object, "the node"),)

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        handle = _node(faults, params, self.name)
        chain = faults.env.chain
        piece = Piece(
            f"{handle.alias}: removed from the canonical network",
            lambda: chain.remove_from_canonical_network(handle.id),
            lambda: chain.add_to_canonical_network(handle.id),
            f"registry:{handle.alias}",
            present=lambda: handle.id not in chain.canonical_node_ids(),
        )
        return FaultPlan([piece], (handle.alias,), {"node_id": handle.id})


@register
class NodeAddressChanged(FaultKind):
    name = "node-address-changed"
    description = (
        "the node's registered address set to one nobody answers at (NodeRegistry.setHttpAddress, signed by "
        "its owner); healing restores its proxy's address"
    )
    params = (
        Param("on", object, "the node"),
        Param("address", str, "the address to register instead", default=UNREACHABLE_ADDRESS),
    )

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        handle = _node(faults, params, self.name)
        chain = faults.env.chain
        wrong = str(params.get("address") or UNREACHABLE_ADDRESS)
        right = f"http://{handle.proxy.internal_address}"
        piece = Piece(
            f"{handle.alias}: registered at {wrong} instead of {right}",
            lambda: chain.set_node_http_address(handle.key, handle.id, wrong),
            lambda: chain.set_node_http_address(handle.key, handle.id, right),
            f"registry:{handle.alias}",
            present=lambda: chain.get_node(handle.id).http_address == wrong,
        )
        return FaultPlan([piece], (handle.alias,), {"address": wrong})
