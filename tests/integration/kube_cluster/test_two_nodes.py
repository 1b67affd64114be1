"""One environment's pods spread over both nodes of the local cluster, and still reach each other.

The second node is a kubelet with its own containerd in its own network namespace, so a pod
there reaching a pod on the first node crosses a real (veth) link and both nodes' iptables.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xmtpd_e2e.polling import wait_until

from cluster_runtime import local_cluster_runtime
from runtime.redis_service import redis_call, redis_spec

pytestmark = pytest.mark.kubernetes


def test_pods_of_one_environment_run_on_both_nodes_and_reach_each_other(tmp_path: Path) -> None:
    with local_cluster_runtime(tmp_path, "two-nodes") as (runtime, config):
        services = [runtime.start(redis_spec(runtime, config.images.redis, f"spread-{i}")) for i in range(4)]
        placement = runtime.pod_nodes()
        assert set(placement.values()) == {"xmtpd-e2e-node1", "xmtpd-e2e-node2"}, placement
        by_node = {node: name for name, node in placement.items()}
        primary, replica_node = by_node["xmtpd-e2e-node1"], "xmtpd-e2e-node2"
        host, port = runtime.internal_address(primary, 6379).rsplit(":", 1)
        target = next(s for s in services if s.spec.name == by_node[replica_node])
        assert redis_call(target.host_address(6379), "REPLICAOF", host, port).startswith("+OK")
        wait_until(
            lambda: redis_call(target.host_address(6379), "INFO", "replication"),
            lambda info: "master_link_status:up" in info,
            timeout=30,
            description="a pod on node 2 to replicate from a pod on node 1 by Service name",
        )
