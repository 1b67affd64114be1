"""chaos-network-partition: a real two-way partition isolates node 300 both ways, then heals.

Upstream disables node 300's proxy, which only stops connections *into* node 300: it keeps
pulling from the others through their proxies (190 of 190 envelopes published elsewhere reached
it).  Here iptables rules inside the nodes' network namespaces drop every packet between node 300
and the rest, established sync streams included.  Isolation is checked by envelope identity both
ways: while partitioned, node 300 holds none of the envelopes published into node 100, and nodes
100 and 200 hold none of those published into node 300.  After healing, every node holds all.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.client.ledger import PublishedEnvelope
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster


def keys(envelopes: list[PublishedEnvelope]) -> set[tuple[int, int]]:
    return {(e.originator_node_id, e.sequence_id) for e in envelopes}


@scenario(
    "chaos-network-partition",
    "Partition node 300 from the rest both ways (iptables in each namespace), verify isolation both ways, heal, converge",
    suites=("fast",),
    typical_seconds=16,
    setup=cluster(),
)
def chaos_network_partition(env: Environment) -> None:
    node_100, node_200, node_300 = env.node(100), env.node(200), env.node(300)
    env.new_client(100).publish_envelopes(10)
    env.wait_for_replication()

    partition = env.partition({300})  # node 300 | nodes 100, 200 and the gateway
    inside = keys(env.new_client(300).publish_envelopes(20))
    outside = keys(env.new_client(100).publish_envelopes(20))
    env.require.eventually(
        lambda: node_200.has_envelopes(outside),
        timeout=60,
        description="node 200 to receive node 100's envelopes (the majority side still syncs)",
    )
    node_300.wait_for_envelopes(30, client_only=True)
    time.sleep(3)  # give replication every chance to leak through the partition
    leaked_in = outside - node_300.missing_envelopes(outside)
    env.require.length(leaked_in, 0, "node 300 must receive nothing published into node 100 while partitioned")
    for peer in (node_100, node_200):
        leaked_out = inside & peer.envelope_keys()
        env.require.length(
            leaked_out, 0, f"{peer.alias} must receive nothing published into node 300 while partitioned"
        )

    partition.heal()
    env.wait_for_replication(timeout=120)
