"""The cluster comes back after its daemons died without a ``down`` (a crash, an OOM kill, a
sandbox restored without its processes): ``up`` restarts them over the state they left, and pods
run again.

Killed daemons leave their Unix socket files behind, so readiness must be judged by a connection:
dialling containerd's stale socket before the new containerd binds it is refused.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

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


def test_up_after_the_daemons_were_killed(tmp_path: Path) -> None:
    layout = ClusterLayout.default()
    cluster_up(layout)
    killed = _kill_every_daemon(layout)
    assert {"etcd", "kube-apiserver", "containerd-xmtpd-e2e-node1", "containerd-xmtpd-e2e-node2"} <= set(killed)
    assert not cluster_status(layout).up
    assert all(node.containerd_socket.exists() for node in layout.nodes)  # left behind

    cluster_up(layout)

    assert cluster_status(layout).up
    with local_cluster_runtime(tmp_path, "recovery") as (runtime, config):
        service = runtime.start(redis_spec(runtime, config.images.redis, "after-crash"))
        assert redis_call(service.host_address(6379), "PING").startswith("+PONG")
