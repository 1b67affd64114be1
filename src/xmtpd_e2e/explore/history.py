"""The history of one exploration: every client operation and every timed event.

A publish operation is one publish request: invoked at a time, then completed as

* ``ok`` -- acknowledged; the node returned a (originator, sequence id) for every envelope;
* ``fail`` -- refused for sure (the node validated and rejected it; nothing can be stored);
* ``unknown`` -- the outcome cannot be known from the client (timeout, connection lost, internal
  error): the envelopes may or may not be stored, but never twice.

Each envelope is identified by its topic, which the client draws at random per envelope, so it can
be found in the nodes' databases whatever happened to the request.

A read (:class:`Read`) is one ``QueryEnvelopes`` call or one subscription stream: the node, the
cursor and filter it asked with, when it was invoked and completed, and every envelope delivered
(when, originator, sequence id, topic, digest of the payer envelope).  A stream is one long read
whose deliveries arrive over time.  Real users' sends and deliveries, when the plan has users,
are in :mod:`xmtpd_e2e.explore.user_history`.  Events (faults, service
actions, phases) come from the environment's timeline (:mod:`xmtpd_e2e.timeline`) with their start and end times.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xmtpd_e2e.explore.recovery import Recovery
from xmtpd_e2e.explore.user_history import UsersHistory
from xmtpd_e2e.timeline import TimelineEvent

__all__ = [
    "Operation",
    "Read",
    "Delivery",
    "READ_KINDS",
    "History",
    "HistoryRecorder",
    "OUTCOMES",
    "DEFINITE_FAILURE_CODES",
]

OUTCOMES = ("ok", "fail", "unknown")

DEFINITE_FAILURE_CODES = frozenset(
    {
        "INVALID_ARGUMENT",
        "FAILED_PRECONDITION",
        "PERMISSION_DENIED",
        "UNAUTHENTICATED",
        "UNIMPLEMENTED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "OUT_OF_RANGE",
    }
)
"""gRPC codes with which a server refuses a request before storing anything.  Every other error
(DEADLINE_EXCEEDED, UNAVAILABLE, INTERNAL, UNKNOWN, ...) leaves the outcome unknown."""


@dataclass
class Operation:
    id: int
    process: str
    """The publisher that issued it (one request in flight per publisher)."""
    target: str
    invoke: float
    topics: list[str]
    """Hex topic of each envelope sent, in request order."""
    complete: float | None = None
    outcome: str | None = None
    keys: list[tuple[int, int]] = field(default_factory=list)
    """(originator, sequence id) per topic, for ``ok`` operations."""
    error: str | None = None
    error_code: str | None = None

    @property
    def latency(self) -> float | None:
        return None if self.complete is None else self.complete - self.invoke

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "process": self.process,
            "target": self.target,
            "invoke": round(self.invoke, 4),
            "complete": None if self.complete is None else round(self.complete, 4),
            "outcome": self.outcome,
            "topics": self.topics,
            "keys": [list(k) for k in self.keys],
            "error": self.error,
            "error_code": self.error_code,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operation:
        return cls(
            id=int(data["id"]),
            process=str(data["process"]),
            target=str(data["target"]),
            invoke=float(data["invoke"]),
            topics=list(data["topics"]),
            complete=None if data.get("complete") is None else float(data["complete"]),
            outcome=data.get("outcome"),
            keys=[(int(o), int(s)) for o, s in data.get("keys", [])],
            error=data.get("error"),
            error_code=data.get("error_code"),
        )


READ_KINDS = ("query-originators", "query-topics", "subscribe")

Delivery = tuple[float, int, int, str, str]
"""(time received, originator, sequence id, hex topic, digest of the payer envelope bytes)."""


@dataclass
class Read:
    """One query or one subscription stream by a reader (see module docstring)."""

    id: int
    process: str
    """The reader: one query loop or one subscriber, with one filter for its whole life."""
    node: str
    kind: str
    """One of :data:`READ_KINDS`."""
    invoke: float
    cursor: dict[int, int]
    """The ``last_seen`` sent: originator -> sequence id already had (absent: from the start)."""
    originators: list[int] = field(default_factory=list)
    """Filter by originator (empty: not filtered by originator)."""
    topics: list[str] = field(default_factory=list)
    """Filter by hex topic (empty: not filtered by topic)."""
    limit: int = 0
    """Page size asked for (0: no limit -- a stream)."""
    complete: float | None = None
    outcome: str | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    error: str | None = None

    @property
    def exhaustive(self) -> bool:
        """Whether it returned everything the node had past its cursor (a page cut short by its
        limit did not)."""
        return self.outcome == "ok" and (self.limit == 0 or len(self.deliveries) < self.limit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "process": self.process,
            "node": self.node,
            "kind": self.kind,
            "invoke": round(self.invoke, 4),
            "complete": None if self.complete is None else round(self.complete, 4),
            "outcome": self.outcome,
            "cursor": {str(o): s for o, s in self.cursor.items()},
            "originators": self.originators,
            "topics": self.topics,
            "limit": self.limit,
            "deliveries": [[round(at, 4), o, s, t, d] for at, o, s, t, d in self.deliveries],
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Read:
        return cls(
            id=int(data["id"]),
            process=str(data["process"]),
            node=str(data["node"]),
            kind=str(data["kind"]),
            invoke=float(data["invoke"]),
            cursor={int(o): int(s) for o, s in data.get("cursor", {}).items()},
            originators=[int(o) for o in data.get("originators", [])],
            topics=list(data.get("topics", [])),
            limit=int(data.get("limit", 0)),
            complete=None if data.get("complete") is None else float(data["complete"]),
            outcome=data.get("outcome"),
            deliveries=[(float(at), int(o), int(s), str(t), str(d)) for at, o, s, t, d in data.get("deliveries", [])],
            error=data.get("error"),
        )


@dataclass
class History:
    operations: list[Operation]
    events: list[TimelineEvent]
    """The environment's timeline: faults, service actions, phases."""
    started_at: float
    """When the workload began (the schedule's time 0)."""
    workload_ended_at: float
    healed_at: float
    """When every fault had been undone and every node was running again."""
    reads: list[Read] = field(default_factory=list)
    """Queries and subscription streams, in invocation order."""
    recoveries: list[Recovery] = field(default_factory=list)
    """Per healed fault: how long until every node (and every reader) had what was acknowledged."""
    left_out: list[dict[str, Any]] = field(default_factory=list)
    """Planned faults this runtime cannot apply (kind, target, start, reason): the plan stays the
    seed's, and what did not run is said rather than silently redrawn."""
    users: UsersHistory | None = None
    """The real users' sends and deliveries (:mod:`xmtpd_e2e.explore.user_history`); None
    when the plan has no users."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": round(self.started_at, 4),
            "workload_ended_at": round(self.workload_ended_at, 4),
            "healed_at": round(self.healed_at, 4),
            "operations": [op.to_dict() for op in self.operations],
            "reads": [r.to_dict() for r in self.reads],
            "recoveries": [r.to_dict() for r in self.recoveries],
            "left_out": self.left_out,
            "events": [e.to_dict() for e in self.events],
            **({"users": self.users.to_dict()} if self.users is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        return cls(
            operations=[Operation.from_dict(o) for o in data["operations"]],
            events=[TimelineEvent.from_dict(e) for e in data["events"]],
            started_at=float(data["started_at"]),
            workload_ended_at=float(data["workload_ended_at"]),
            healed_at=float(data["healed_at"]),
            reads=[Read.from_dict(r) for r in data.get("reads", [])],
            recoveries=[Recovery.from_dict(r) for r in data.get("recoveries", [])],
            left_out=[dict(x) for x in data.get("left_out", [])],
            users=UsersHistory.from_dict(data["users"]) if data.get("users") is not None else None,
        )

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((*OUTCOMES, "pending"), 0)
        for op in self.operations:
            counts[op.outcome or "pending"] += 1
        return counts

    def acknowledged_envelopes(self) -> int:
        return sum(len(op.keys) for op in self.operations if op.outcome == "ok")


class HistoryRecorder:
    """Thread-safe recording of operations by publisher threads and of reads by reader threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._operations: list[Operation] = []
        self._read_ids = itertools.count(1)
        self._reads: list[Read] = []

    def invoke(self, process: str, target: str, topics: Sequence[str]) -> Operation:
        with self._lock:
            op = Operation(next(self._ids), process, target, time.time(), list(topics))
            self._operations.append(op)
        return op

    def ok(self, op: Operation, keys: Sequence[tuple[int, int]]) -> None:
        with self._lock:
            op.complete, op.outcome, op.keys = time.time(), "ok", list(keys)

    def failed(self, op: Operation, code: str, error: str) -> None:
        with self._lock:
            op.complete = time.time()
            op.outcome = "fail" if code in DEFINITE_FAILURE_CODES else "unknown"
            op.error, op.error_code = error, code

    def operations(self) -> list[Operation]:
        with self._lock:
            return list(self._operations)

    # -- reads ---------------------------------------------------------------------------------
    def begin_read(self, read: Read) -> Read:
        """Record a read as invoked now; its deliveries are appended by its reader thread."""
        with self._lock:
            read.id = next(self._read_ids)
            read.invoke = time.time()
            self._reads.append(read)
        return read

    def end_read(self, read: Read, outcome: str, error: str | None = None) -> None:
        with self._lock:
            read.complete, read.outcome, read.error = time.time(), outcome, error

    def reads(self) -> list[Read]:
        with self._lock:
            return list(self._reads)
