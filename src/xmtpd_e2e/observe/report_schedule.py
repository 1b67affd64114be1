"""When xmtpd's payer-report workers fire, so long scenarios can plan around it.

Each node runs its report generator once per wall-clock hour at a minute derived from its node
id; the submitter fires 5 minutes later and the settlement worker 10 minutes later.  A scenario
that just waits may sit idle for most of an hour.  Instead, the environment can pick the id of the
next node so that its generator fires soon after traffic starts
(:meth:`xmtpd_e2e.api.environment.Environment.align_next_node_with_report_schedule`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["worker_minute", "next_firing", "GENERATOR", "SUBMITTER", "SETTLEMENT"]

GENERATOR = 1
SUBMITTER = 2
SETTLEMENT = 3
_KNUTH = 2654435761


def worker_minute(node_id: int, worker: int = GENERATOR) -> int:
    """Minute of the hour (UTC) at which ``worker`` of node ``node_id`` runs."""
    hashed = (node_id * _KNUTH) & 0xFFFFFFFF
    return ((hashed >> 16) + (worker - 1) * 5) % 60


def next_firing(node_id: int, after: datetime, worker: int = GENERATOR) -> datetime:
    """The first time at or after ``after`` when that worker runs (start of its minute)."""
    after = after.astimezone(timezone.utc)
    candidate = after.replace(minute=worker_minute(node_id, worker), second=0, microsecond=0)
    while candidate < after:
        candidate += timedelta(hours=1)
    return candidate
