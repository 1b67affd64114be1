"""chaos-connection-reset: TCP resets on a node's proxy interrupt but do not lose replication.

Upstream publishes to node 100 while resetting node 200's proxy, which carries none of that
traffic (sync is pull-based through the *originator's* proxy).  Here the traffic originates at
node 200, so every envelope must cross the resetting proxy to reach the others.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import standard_cluster


@scenario(
    "chaos-connection-reset",
    "Reset TCP connections on node 200's proxy while it originates traffic, verify recovery",
    suites=("fast",),
    typical_seconds=35,
)
def chaos_connection_reset(env: Environment) -> None:
    standard_cluster(env)
    node_200 = env.node(200)
    traffic = env.new_client(200).generate_traffic(duration=20, batch_size=5, interval=0.2)
    env.require.eventually(lambda: node_200.get_envelope_count(client_only=True),
                           accept=lambda n: n > 0, timeout=30, description="node 200 to store traffic")
    node_200.add_connection_reset(500)
    time.sleep(10)
    node_200.remove_all_toxics()
    traffic.wait()
    env.require.no_error(traffic.error, "publishing to node 200 directly must not fail")
    env.wait_for_replication(timeout=120)
