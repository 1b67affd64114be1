"""The cluster comes back after its daemons died without a ``down`` (a crash, an OOM kill, a
sandbox restored without its processes): ``up`` restarts them over the state they left, and pods
run again.

Killed daemons leave their Unix socket files behind, so readiness must be judged by a connection:
dialling containerd's stale socket before the new containerd binds it is refused.  And a killed
kubelet's node still shows Ready for a while: only a heartbeat from the new kubelet counts.
"""

from __future__ import annotations

import json
import os
import signal
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from xmtpd_e2e.infra.kubernetes.api import admin_client
from xmtpd_e2e.infra.kubernetes.cluster import cluster_status, cluster_up
from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout
from xmtpd_e2e.infra.kubernetes.processes import start_time_of

from cluster_runtime import local_cluster_runtime
from runtime.redis_service import redis_call, redis_spec

pytestmark = pytest.mark.kubernetes


def _kill_every_daemon(layout: ClusterLayout) -> list[str]:
    killed = []
    for record_file in sorted(layout.pid_dir.glob("*.json")):
        record = json.loads(record_file.read_text())
        if start_time_of(int(record["pid"])) == str(record["start_time"]):
            os.kill(int(record["pid"]), signal.SIGKILL)
            killed.append(record_file.stem)
    return killed


def _ready_heartbeats(layout: ClusterLayout) -> dict[str, Any]:
    api = admin_client(layout)
    try:
        return {
            str(node.metadata.name): condition.last_heartbeat_time
            for node in k8s.CoreV1Api(api).list_node(_request_timeout=10).items
            for condition in node.status.conditions or []
            if condition.type == "Ready" and condition.status == "True"
        }
    finally:
        api.close()


def test_up_after_the_daemons_were_killed(tmp_path: Path) -> None:
    layout = ClusterLayout.default()
    cluster_up(layout)
    killed_at = datetime.now(timezone.utc).replace(microsecond=0)
    killed = _kill_every_daemon(layout)
    assert {"etcd", "kube-apiserver", "containerd-xmtpd-e2e-node1", "containerd-xmtpd-e2e-node2"} <= set(killed)
    assert not cluster_status(layout).up
    assert all(node.containerd_socket.exists() for node in layout.nodes)  # left behind

    declared_ready: dict[str, Any] = {}

    def when_nodes_are_declared_ready(message: str) -> None:
        if message == "starting CoreDNS":  # said right after the wait for Ready nodes
            declared_ready.update(_ready_heartbeats(layout))

    cluster_up(layout, say=when_nodes_are_declared_ready)

    assert set(declared_ready) == {node.name for node in layout.nodes}
    stale = {name: str(beat) for name, beat in declared_ready.items() if beat is None or beat < killed_at}
    assert not stale, f"declared Ready on heartbeats from before the kill at {killed_at}: {stale}"
    assert cluster_status(layout).up
    with local_cluster_runtime(tmp_path, "recovery") as (runtime, config):
        service = runtime.start(redis_spec(runtime, config.images.redis, "after-crash"))
        assert redis_call(service.host_address(6379), "PING").startswith("+PONG")
