"""A chaos scenario that fails for real, for the HTML report's browser test and screenshot.

Node 300 runs with sync disabled, so it never pulls from its peers; node 100 is partitioned
for a few seconds while a client publishes to it.  Node 200 falls behind during the partition
and catches up after it; node 300 falls behind and never catches up, so the run FAILs.
"""

from __future__ import annotations

import time

from xmtpd_e2e import Environment, scenario


@scenario(
    "chaos-partition-deaf-node",
    "node 100 partitioned under load; node 300 has sync disabled",
    typical_seconds=25,
    timeout_seconds=300,
)
def chaos_partition_deaf_node(env: Environment) -> None:
    env.add_nodes(2)
    env.add_node(env={"XMTPD_SYNC_ENABLE": "false"})
    traffic = env.new_client(100).generate_traffic(duration=120, batch_size=5, interval=0.2)
    # Node 200 must be replicating before the fault, or it is behind from the start and not
    # "during" it: on a loaded machine its first sync from node 100 once took over 20 s.
    env.node(200).wait_for_envelopes(1, timeout=120, client_only=True)
    time.sleep(8)  # node 300 is behind before the fault begins (it never syncs)
    node_100 = env.node(100)
    node_100.disconnect()
    time.sleep(10)  # long enough for several samples even when the machine is loaded
    node_100.reconnect()
    time.sleep(4)
    traffic.stop()
    env.wait_for_replication(timeout=20)  # node 200 catches up; node 300 never does
