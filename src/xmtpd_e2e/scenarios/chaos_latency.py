"""chaos-latency: 500 ms of latency on node 100's proxy slows but does not stop the cluster.

The latency is held for 5 s of a 10 s stream of traffic: each request through the proxy then
takes at least a second, so the hold spans several of them, and node 100 must keep storing and
node 200 keep replicating while it lasts; once removed, every node must converge.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import standard_cluster


@scenario(
    "chaos-latency",
    "Inject 500 ms latency on node 100 under traffic, verify progress and full recovery",
    suites=("fast",),
    typical_seconds=22,
)
def chaos_latency(env: Environment) -> None:
    standard_cluster(env)
    node_100, node_200 = env.node(100), env.node(200)
    traffic = env.new_client(100).generate_traffic(duration=10, batch_size=5, interval=0.2)
    before = env.require.eventually(
        lambda: node_100.get_envelope_count(client_only=True),
        accept=lambda n: n > 0,
        timeout=30,
        description="node 100 to store traffic",
    )
    node_100.add_latency(500)
    time.sleep(5)
    during = node_100.get_envelope_count(client_only=True)
    replicated_during = node_200.get_envelope_count(client_only=True)
    node_100.remove_all_toxics()
    traffic.wait()
    env.require.no_error(traffic.error, "traffic must not fail because of latency")
    env.require.greater(during, before, "node 100 must keep accepting envelopes under latency")
    env.require.greater(replicated_during, 0, "node 200 must keep replicating under latency")
    env.wait_for_replication(timeout=90)
