"""chaos-latency: 500 ms of latency on node 100's proxy slows but does not stop the cluster.

The latency is held for 5 s under a stream of traffic that goes on 2 s past its removal: each
request through the proxy then takes at least a second, so the hold spans several of them, and
node 100 must keep storing and node 200 keep replicating while it lasts; once removed, every
node must converge, envelopes published after the heal included.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._publishing import TRAFFIC_AFTER_HEAL_SECONDS
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "chaos-latency",
    "Inject 500 ms latency on node 100 under traffic, verify progress and full recovery",
    suites=("fast",),
    typical_seconds=22,
    setup=cluster(),
)
def chaos_latency(env: Environment) -> None:
    node_100, node_200 = env.node(100), env.node(200)
    traffic = env.new_client(100).generate_traffic(batch_size=5, interval=0.2)  # until stopped
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
    time.sleep(TRAFFIC_AFTER_HEAL_SECONDS)
    traffic.stop()
    env.require.no_error(traffic.error, "traffic must not fail because of latency")
    env.require.greater(during, before, "node 100 must keep accepting envelopes under latency")
    env.require.greater(replicated_during, 0, "node 200 must keep replicating under latency")
    env.wait_for_replication(timeout=90)
