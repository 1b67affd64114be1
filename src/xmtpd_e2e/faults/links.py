"""Who talks to whom in an environment, and which flows to drop to cut a link.

A :class:`Participant` is anything a fault can name: a node, a gateway, the chain (anvil), the
framework's clients, the database.  For each it records the namespace its own traffic leaves
from (``None`` for the framework and the host's database, which live in the host's namespace)
and how others reach it:

* ``reached_at`` -- the flows an initiator's namespace sees when it talks to this participant.
  A node is reached through its toxiproxy listener (the address it registered on chain) and at its
  own address; the chain and the database are reached directly.
* ``client_flows`` -- in the participant's own namespace, the framework clients' connections.

A node's *inbound* connections all come from toxiproxy, so inside the node they cannot be told
apart by peer.  Every cut is therefore applied where the connection starts: "A cannot reach B"
drops, in A's namespace, both directions of every flow towards B's addresses.  A two-way partition
is that rule in both namespaces.  Connections the framework opens (it runs in the host's
namespace) are the exception: they are cut in the target's namespace, by the host's address.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.netfilter import Flow

__all__ = [
    "Participant",
    "RuleTarget",
    "cut_flows",
    "partition_flows",
    "both_ways",
    "merge_targets",
    "CLIENTS",
    "CHAIN",
    "DATABASE",
    "VALIDATION",
]

CLIENTS = "clients"
CHAIN = "chain"
DATABASE = "database"
VALIDATION = "validation"


@dataclass(frozen=True)
class Participant:
    name: str
    namespace: Callable[[], Path | None]
    """Resolves the namespace now (a container's changes when it restarts)."""
    reached_at: tuple[Flow, ...] = ()
    client_flows: tuple[Flow, ...] = ()
    initiates: bool = True
    """False for services that only accept connections (anvil, Postgres)."""


@dataclass(frozen=True)
class RuleTarget:
    """Flows to drop inside one participant's namespace."""

    where: Participant
    flows: tuple[Flow, ...] = field(default_factory=tuple)


def cut_flows(source: Participant, destination: Participant) -> RuleTarget:
    """Where and what to drop so ``source`` can no longer reach ``destination``.

    Established connections stall (both directions of their packets are dropped); connections
    ``destination`` opens towards ``source`` are untouched.
    """
    if source.name == destination.name:
        raise E2EError(f"cannot cut {source.name} from itself")
    if source.name == CLIENTS:
        if not destination.client_flows:
            raise E2EError(f"the framework's clients do not connect to {destination.name}")
        return RuleTarget(destination, destination.client_flows)
    if not source.initiates:
        raise E2EError(
            f"{source.name} opens no connections, so it has nothing to cut; "
            f"to keep others from reaching it, cut(<other>, {source.name!r})"
        )
    if destination.name == CLIENTS:
        raise E2EError(f"{source.name} never connects to the framework's clients; cut('clients', ...) instead")
    if not destination.reached_at:
        raise E2EError(f"nothing connects to {destination.name}")
    return RuleTarget(source, destination.reached_at)


def partition_flows(groups: Sequence[Iterable[Participant]]) -> list[RuleTarget]:
    """Every cut that separates ``groups`` from each other, both ways where traffic can flow.

    For a pair where one side never opens connections (the chain, the database), cutting the
    other side's connections already stops every packet between them.
    """
    materialized = [list(group) for group in groups]
    seen: dict[str, int] = {}
    for index, group in enumerate(materialized):
        for member in group:
            if member.name in seen and seen[member.name] != index:
                raise E2EError(f"{member.name} is in two partition groups")
            seen[member.name] = index
    if len(materialized) < 2:
        raise E2EError("a partition needs at least two groups")
    targets: list[RuleTarget] = []
    for index, group in enumerate(materialized):
        for other in materialized[index + 1 :]:
            for a in group:
                for b in other:
                    targets += both_ways(a, b)
    return merge_targets(targets)


def both_ways(a: Participant, b: Participant) -> list[RuleTarget]:
    """The cuts of the link between ``a`` and ``b``, in each direction where one side connects
    to the other; an error when neither does."""
    pair: list[RuleTarget] = []
    for source, destination in ((a, b), (b, a)):
        try:
            pair.append(cut_flows(source, destination))
        except E2EError:
            continue
    if not pair:
        raise E2EError(f"{a.name} and {b.name} never talk to each other; there is no link between them to fault")
    return pair


def merge_targets(targets: Iterable[RuleTarget]) -> list[RuleTarget]:
    """One RuleTarget per namespace owner, flows deduplicated, in first-seen order."""
    merged: dict[str, tuple[Participant, list[Flow]]] = {}
    for target in targets:
        where, flows = merged.setdefault(target.where.name, (target.where, []))
        flows += [flow for flow in target.flows if flow not in flows]
    return [RuleTarget(where, tuple(flows)) for where, flows in merged.values()]
