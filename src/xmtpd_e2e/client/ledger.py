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

__all__ = ["PublishedEnvelope", "PublishFailure", "PublishLedger"]


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
    expiry_unixtime: int = 0
    """As in the publish response.  xmtpd stamps expiry from the clock when it signs, and it signs
    the response apart from the envelope it stores, so the stored one can expire a second or so
    later (and then its bytes, ``envelope_hash`` included, differ from the response's)."""

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
            expiry_unixtime=decoded.expiry_unixtime,
        )

    @property
    def key(self) -> tuple[int, int]:
        return (self.originator_node_id, self.sequence_id)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PublishFailure:
    """A publish request that failed: when, who sent it where, and why."""

    client_name: str
    target: str
    envelopes: int
    error: str
    failed_at: float = field(default_factory=time.time)


_FAILURES_KEPT = 200


class PublishLedger:
    """Thread-safe, append-only list of published envelopes (and of failed publish requests:
    the first few hundred in full, all of them counted)."""

    def __init__(self) -> None:
        self._items: list[PublishedEnvelope] = []
        self._failures: list[PublishFailure] = []
        self._failure_times: list[float] = []
        self._lock = threading.Lock()

    def add_failure(self, failure: PublishFailure) -> None:
        with self._lock:
            self._failure_times.append(failure.failed_at)
            if len(self._failures) < _FAILURES_KEPT:
                self._failures.append(failure)

    def failures(self) -> list[PublishFailure]:
        with self._lock:
            return list(self._failures)

    def rate_series(self, bucket_seconds: float = 1.0) -> dict[str, Any]:
        """Envelopes published and requests failed per time bucket, and the first failures.

        ``start`` is the Unix time of bucket 0; ``published[i]`` / ``failed[i]`` count bucket i.
        """
        with self._lock:
            published = [e.published_at for e in self._items]
            failed = list(self._failure_times)
            failures = list(self._failures)
        times = published + failed
        if not times:
            return {
                "bucket_seconds": bucket_seconds,
                "start": None,
                "published": [],
                "failed": [],
                "failures": [],
                "failed_total": 0,
            }
        start = min(times)
        size = int((max(times) - start) // bucket_seconds) + 1
        counts = {"published": [0] * size, "failed": [0] * size}
        for key, values in (("published", published), ("failed", failed)):
            for moment in values:
                counts[key][int((moment - start) // bucket_seconds)] += 1
        return {
            "bucket_seconds": bucket_seconds,
            "start": round(start, 3),
            **counts,
            "failures": [{**asdict(f), "failed_at": round(f.failed_at, 3)} for f in failures],
            "failed_total": len(failed),
        }

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
