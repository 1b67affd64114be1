"""The record of every envelope clients published in an environment.

The global invariants compare it with each node's database by (originator, sequence id), and
failure artifacts list it, so "node 300 is missing 100:17" can be traced to the client and time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from xmtpd_e2e.client.envelopes import DecodedEnvelope

__all__ = ["PublishedEnvelope", "PublishLedger"]


@dataclass(frozen=True)
class PublishedEnvelope:
    originator_node_id: int
    sequence_id: int
    envelope_hash: str
    payer_address: str
    topic: str
    client_name: str
    via: str
    """``node`` (direct) or the gateway alias it went through."""
    base_fee_picodollars: int
    congestion_fee_picodollars: int
    payer_envelope_size: int
    retention_days: int
    published_at: float = field(default_factory=time.time)

    @classmethod
    def from_decoded(cls, decoded: DecodedEnvelope, *, client_name: str, via: str) -> PublishedEnvelope:
        return cls(
            originator_node_id=decoded.originator_node_id,
            sequence_id=decoded.sequence_id,
            envelope_hash=decoded.envelope_hash,
            payer_address=decoded.payer_address,
            topic=decoded.topic.hex(),
            client_name=client_name,
            via=via,
            base_fee_picodollars=decoded.base_fee_picodollars,
            congestion_fee_picodollars=decoded.congestion_fee_picodollars,
            payer_envelope_size=decoded.payer_envelope_size,
            retention_days=decoded.retention_days,
        )

    @property
    def key(self) -> tuple[int, int]:
        return (self.originator_node_id, self.sequence_id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PublishLedger:
    """Thread-safe, append-only list of published envelopes."""

    def __init__(self) -> None:
        self._items: list[PublishedEnvelope] = []
        self._lock = threading.Lock()

    def add(self, envelopes: list[PublishedEnvelope]) -> None:
        with self._lock:
            self._items.extend(envelopes)

    def all(self) -> list[PublishedEnvelope]:
        with self._lock:
            return list(self._items)

    def keys(self) -> set[tuple[int, int]]:
        with self._lock:
            return {e.key for e in self._items}

    def by_originator(self, node_id: int) -> list[PublishedEnvelope]:
        with self._lock:
            return [e for e in self._items if e.originator_node_id == node_id]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
