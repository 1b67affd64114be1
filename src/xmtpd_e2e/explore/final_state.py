"""What each node's database holds once the cluster is healed: the checker's second input.

Read straight from each node's Postgres through its observer (the framework's source of truth),
in a JSON-able shape so a recorded exploration can be checked again without a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.explore.fee_checker import PayerFees

if TYPE_CHECKING:
    from xmtpd_e2e.observe.observer import NodeObserver

__all__ = ["StoredEnvelope", "UsageRow", "NodeState", "FinalState", "read_node_state"]


@dataclass(frozen=True)
class StoredEnvelope:
    originator: int
    sequence_id: int
    topic: str
    payer: str | None


@dataclass(frozen=True)
class UsageRow:
    payer: str
    originator: int
    message_count: int
    spend_picodollars: int


@dataclass
class NodeState:
    node_id: int
    running: bool
    canonical: bool
    envelopes: list[StoredEnvelope] = field(default_factory=list)
    """Client envelopes (topic kinds 0-3)."""
    sequences: dict[int, list[int]] = field(default_factory=dict)
    """Originator -> every stored sequence id (all topic kinds), ascending."""
    vector_clock: dict[int, int] = field(default_factory=dict)
    usage: list[UsageRow] = field(default_factory=list)
    staged: int = 0
    error: str | None = None
    """Why the database could not be read (then the other fields are empty)."""

    @property
    def checked(self) -> bool:
        """Whether the replication properties apply: up, canonical and readable."""
        return self.running and self.canonical and self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "running": self.running,
            "canonical": self.canonical,
            "envelopes": [[e.originator, e.sequence_id, e.topic, e.payer] for e in self.envelopes],
            "sequences": {str(o): s for o, s in self.sequences.items()},
            "vector_clock": {str(o): s for o, s in self.vector_clock.items()},
            "usage": [[u.payer, u.originator, u.message_count, u.spend_picodollars] for u in self.usage],
            "staged": self.staged,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeState:
        return cls(
            node_id=int(data["node_id"]),
            running=bool(data["running"]),
            canonical=bool(data["canonical"]),
            envelopes=[StoredEnvelope(int(o), int(s), str(t), p) for o, s, t, p in data.get("envelopes", [])],
            sequences={int(o): [int(x) for x in s] for o, s in data.get("sequences", {}).items()},
            vector_clock={int(o): int(s) for o, s in data.get("vector_clock", {}).items()},
            usage=[UsageRow(str(p), int(o), int(c), int(s)) for p, o, c, s in data.get("usage", [])],
            staged=int(data.get("staged", 0)),
            error=data.get("error"),
        )


@dataclass
class FinalState:
    nodes: dict[int, NodeState]
    read_at: float
    fees: list[PayerFees] = field(default_factory=list)
    """Per payer: usage, settled fees and chain debit -- when the run settled payer reports."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "read_at": round(self.read_at, 4),
            "nodes": [n.to_dict() for n in self.nodes.values()],
            "fees": [f.to_list() for f in self.fees],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FinalState:
        nodes = [NodeState.from_dict(n) for n in data["nodes"]]
        fees = [PayerFees.from_list(row) for row in data.get("fees", [])]
        return cls({n.node_id: n for n in nodes}, float(data["read_at"]), fees)


def read_node_state(node_id: int, observer: NodeObserver, *, running: bool, canonical: bool) -> NodeState:
    state = NodeState(node_id, running, canonical)
    try:
        state.envelopes = [StoredEnvelope(o, s, t, p) for o, s, t, p in observer.client_envelope_rows()]
        state.sequences = observer.sequence_ids()
        state.vector_clock = observer.vector_clock()
        state.usage = [UsageRow(p, o, c, s) for p, o, c, s in observer.usage_by_originator()]
        state.staged = observer.staged_envelope_count()
    except Exception as error:  # one unreadable database must not hide the others
        state.error = f"{type(error).__name__}: {error}"
    return state
