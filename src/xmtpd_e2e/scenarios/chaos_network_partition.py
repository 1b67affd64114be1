"""chaos-network-partition: a partitioned node is really isolated, then fully heals.

Upstream compares counts; here isolation is checked by identity: while node 300's proxy is
disabled, the envelopes it originates must be absent from the other nodes, and after the
partition heals every node must hold every envelope.  The proxy toggle is idempotent here.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import standard_cluster


@scenario(
    "chaos-network-partition",
    "Partition node 300 (proxy disabled), publish to it, verify isolation, heal, verify convergence",
    suites=("fast",),
    typical_seconds=30,
)
def chaos_network_partition(env: Environment) -> None:
    standard_cluster(env)
    node_100, node_200, node_300 = env.node(100), env.node(200), env.node(300)
    env.new_client(100).publish_envelopes(10)
    env.wait_for_replication()

    node_300.disconnect()
    isolated = env.new_client(300).publish_envelopes(20)
    isolated_keys = {(e.originator_node_id, e.sequence_id) for e in isolated}
    node_300.wait_for_envelopes(30, client_only=True)
    time.sleep(5)  # give replication every chance to leak through the partition
    for peer in (node_100, node_200):
        leaked = isolated_keys - peer.has_envelopes(isolated_keys)
        env.require.length(leaked, 0, f"{peer.alias} must not receive node 300's envelopes while it is partitioned")

    node_300.reconnect()
    env.wait_for_replication(timeout=120)
