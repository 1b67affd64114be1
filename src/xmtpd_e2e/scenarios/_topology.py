"""Shared set-up for the catalogue: upstream's standard cluster of 3 nodes and 1 gateway."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.api.gateway_handle import GatewayHandle
from xmtpd_e2e.api.node_handle import NodeHandle

__all__ = ["standard_cluster", "cluster", "report_cluster"]


def standard_cluster(
    env: Environment,
    *,
    nodes: int = 3,
    gateways: int = 1,
    node_env: Mapping[str, str] | None = None,
) -> tuple[list[NodeHandle], list[GatewayHandle]]:
    """Nodes 100, 200, ... (started concurrently) and gateways gateway-0, ..."""
    started = env.add_nodes(nodes, env=node_env)
    added = [env.add_gateway() for _ in range(gateways)]
    return started, added


def cluster(
    *, nodes: int = 3, gateways: int = 1, node_env: Mapping[str, str] | None = None
) -> Callable[[Environment], object]:
    """``standard_cluster`` as a scenario's ``setup=``: built before the scenario's turn under
    ``--parallel``; the scenario reaches it through ``env.nodes()`` and ``env.gateways()``."""

    def set_up(env: Environment) -> object:
        return standard_cluster(env, nodes=nodes, gateways=gateways, node_env=node_env)

    return set_up


def report_cluster(
    env: Environment, *, nodes: int = 3, gateways: int = 1, lead_seconds: float = 150.0
) -> tuple[NodeHandle, list[NodeHandle], list[GatewayHandle]]:
    """A cluster whose first node's payer-report generator fires a few minutes from now.

    Returns (originator, all nodes, gateways): paid traffic should go to the originator so its
    reports are generated, attested, submitted and settled within minutes instead of an hour.
    """
    env.align_next_node_with_report_schedule(lead_seconds=lead_seconds)
    all_nodes, added = standard_cluster(env, nodes=nodes, gateways=gateways)
    return all_nodes[0], all_nodes, added
