"""A node is Ready by its Ready condition, and after a kubelet (re)start only by a new heartbeat."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

from xmtpd_e2e.infra.kubernetes.api import reported_ready

STARTED = datetime(2026, 11, 27, 0, 30, 0, tzinfo=timezone.utc)


def _node(status: str, heartbeat: datetime | None) -> Any:
    conditions = [
        SimpleNamespace(type="MemoryPressure", status="False", last_heartbeat_time=heartbeat),
        SimpleNamespace(type="Ready", status=status, last_heartbeat_time=heartbeat),
    ]
    return SimpleNamespace(status=SimpleNamespace(conditions=conditions))


def test_ready_condition_decides_when_no_restart_is_known() -> None:
    assert reported_ready(_node("True", STARTED - timedelta(minutes=5)))
    assert not reported_ready(_node("False", STARTED))
    assert not reported_ready(_node("Unknown", STARTED))
    assert not reported_ready(SimpleNamespace(status=SimpleNamespace(conditions=None)))


def test_a_heartbeat_from_before_the_kubelet_started_is_stale() -> None:
    assert not reported_ready(_node("True", STARTED - timedelta(seconds=1)), since=STARTED)
    assert not reported_ready(_node("True", None), since=STARTED)


def test_a_heartbeat_from_the_new_kubelet_counts() -> None:
    assert reported_ready(_node("True", STARTED), since=STARTED)
    assert reported_ready(_node("True", STARTED + timedelta(seconds=3)), since=STARTED)
    assert not reported_ready(_node("False", STARTED + timedelta(seconds=3)), since=STARTED)
