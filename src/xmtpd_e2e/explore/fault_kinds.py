"""The faults the explorer may draw: one registry entry per kind.

An entry says how to draw its parameters from the schedule's random generator (pure, so the same
seed gives the same schedule) and how to apply it to a live environment, returning the action
that heals it.  Adding a fault kind to the explorer is adding one :func:`register` call here.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.api.node_handle import NodeHandle
    from xmtpd_e2e.faults.controller import Fault

__all__ = ["FaultKind", "FAULT_KINDS", "register", "fault_kind", "node_of", "default_kinds"]

Heal = Callable[[], None]


@dataclass(frozen=True)
class FaultKind:
    name: str
    description: str
    draw: Callable[[random.Random, str, Sequence[str]], dict[str, Any]]
    """Parameters for one occurrence on a target node, given every node alias, drawn from the
    schedule's generator."""
    apply: Callable[[Environment, str, Mapping[str, Any]], Heal]
    """Inject the fault on the target (a node alias) and return what heals it."""
    stops_service: bool = False
    """The target is down while the fault lasts (its publishes fail by design)."""
    needs_root: bool = False
    """Acts inside network namespaces with iptables/tc: drawn by default only when run as root."""


FAULT_KINDS: dict[str, FaultKind] = {}


def register(kind: FaultKind) -> FaultKind:
    if kind.name in FAULT_KINDS:
        raise ValueError(f"fault kind {kind.name!r} is registered twice")
    FAULT_KINDS[kind.name] = kind
    return kind


def fault_kind(name: str) -> FaultKind:
    try:
        return FAULT_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown fault kind {name!r}; known: {', '.join(FAULT_KINDS)}") from None


def default_kinds() -> list[str]:
    """Kinds drawn when none are named: all of them, less those needing root when not root."""
    as_root = os.geteuid() == 0
    return [name for name, kind in FAULT_KINDS.items() if as_root or not kind.needs_root]


def node_of(env: Environment, alias: str) -> NodeHandle:
    """The node handle for an alias such as ``node-200``."""
    return env.node(int(alias.removeprefix("node-")))


def _no_params(rng: random.Random, target: str, aliases: Sequence[str]) -> dict[str, Any]:
    return {}


def _stopped(kill: bool) -> Callable[[Environment, str, Mapping[str, Any]], Heal]:
    def apply(env: Environment, target: str, params: Mapping[str, Any]) -> Heal:
        node = node_of(env, target)
        node.stop(kill=kill)
        return node.start

    return apply


def _toxic(
    add: Callable[[NodeHandle, Mapping[str, Any]], None],
) -> Callable[[Environment, str, Mapping[str, Any]], Heal]:
    def apply(env: Environment, target: str, params: Mapping[str, Any]) -> Heal:
        node = node_of(env, target)
        add(node, params)
        return node.remove_all_toxics

    return apply


def _disconnect(env: Environment, target: str, params: Mapping[str, Any]) -> Heal:
    node = node_of(env, target)
    node.disconnect()
    return node.reconnect


register(
    FaultKind(
        "kill",
        "SIGKILL the node, restart it on its data when the fault ends",
        _no_params,
        _stopped(kill=True),
        stops_service=True,
    )
)
register(
    FaultKind(
        "stop",
        "stop the node gracefully, start it again when the fault ends",
        _no_params,
        _stopped(kill=False),
        stops_service=True,
    )
)
register(
    FaultKind(
        "latency",
        "toxiproxy latency on what the node's proxy sends (peers, gateways)",
        lambda rng, target, aliases: {"latency_ms": rng.choice((200, 500, 1000, 2000))},
        _toxic(lambda node, p: node.add_latency(int(p["latency_ms"]))),
    )
)
register(
    FaultKind(
        "bandwidth",
        "toxiproxy bandwidth limit on the node's proxy",
        lambda rng, target, aliases: {"kb_per_second": rng.choice((1, 5, 20, 100))},
        _toxic(lambda node, p: node.add_bandwidth_limit(int(p["kb_per_second"]))),
    )
)
register(
    FaultKind(
        "reset",
        "toxiproxy resets TCP connections through the node's proxy",
        lambda rng, target, aliases: {"timeout_ms": rng.choice((0, 100, 1000))},
        _toxic(lambda node, p: node.add_connection_reset(int(p["timeout_ms"]))),
    )
)
register(
    FaultKind(
        "timeout",
        "toxiproxy black-holes traffic through the node's proxy",
        lambda rng, target, aliases: {"timeout_ms": rng.choice((0, 2000))},
        _toxic(lambda node, p: node.add_timeout(int(p["timeout_ms"]))),
    )
)
register(
    FaultKind("disconnect", "the node's proxy is disabled: peers and gateways cannot reach it", _no_params, _disconnect)
)


def _fault_api(
    apply: Callable[[Environment, str, Mapping[str, Any]], Fault],
) -> Callable[[Environment, str, Mapping[str, Any]], Heal]:
    """A fault from the environment's fault API: the returned Fault heals itself."""

    def run(env: Environment, target: str, params: Mapping[str, Any]) -> Heal:
        return apply(env, target, params).heal

    return run


def _other_node(rng: random.Random, target: str, aliases: Sequence[str]) -> dict[str, Any]:
    others = [alias for alias in aliases if alias != target]
    return {"peer": rng.choice(others)} if others else {}


def _cut(env: Environment, target: str, params: Mapping[str, Any]) -> Fault:
    peer = params.get("peer")
    # A one-node cluster has no peer: cut the node's chain path instead.
    return env.cut(node_of(env, target).id, node_of(env, str(peer)).id if peer else "chain")


register(
    FaultKind(
        "pause",
        "SIGSTOP the node (docker pause): hung, not dead; resumed when the fault ends",
        _no_params,
        _fault_api(lambda env, target, p: node_of(env, target).pause()),
        stops_service=True,
    )
)
register(
    FaultKind(
        "partition",
        "two-way partition: the node and every other node and gateway drop each other's packets",
        _no_params,
        _fault_api(lambda env, target, p: env.partition({node_of(env, target).id})),
        needs_root=True,
    )
)
register(
    FaultKind(
        "cut",
        "one-way cut: the node cannot reach one peer, the peer still reaches it",
        _other_node,
        _fault_api(_cut),
        needs_root=True,
    )
)
register(
    FaultKind(
        "loss",
        "random packet loss on every packet of the node's interface (iptables statistic)",
        lambda rng, target, aliases: {"percent": rng.choice((10, 30, 50))},
        _fault_api(lambda env, target, p: node_of(env, target).add_packet_loss(float(p["percent"]))),
        needs_root=True,
    )
)
