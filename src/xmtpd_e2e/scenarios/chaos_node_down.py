"""chaos-node-down: a node that crashes under traffic catches up after it restarts.

Differs from upstream: node-300 is killed (SIGKILL, a crash) rather than stopped gracefully, and
the traffic must have no error at all (it goes to node 100, which stays up).
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._publishing import TRAFFIC_AFTER_HEAL_SECONDS
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "chaos-node-down",
    "Generate traffic, kill node-300, restart it with the same database, verify it catches up",
    suites=("fast",),
    typical_seconds=20,
    setup=cluster(),
)
def chaos_node_down(env: Environment) -> None:
    node_100, node_300 = env.node(100), env.node(300)
    traffic = env.new_client(100).generate_traffic(batch_size=5, interval=0.2)  # until stopped
    env.require.eventually(
        lambda: node_100.get_envelope_count(client_only=True) > 0, timeout=30, description="node 100 to store traffic"
    )
    node_300.stop(kill=True)
    time.sleep(3)  # traffic keeps flowing while node-300 is down
    missed_while_down = node_100.get_envelope_count(client_only=True)
    node_300.start()
    time.sleep(TRAFFIC_AFTER_HEAL_SECONDS)  # and goes on while node 300 is back
    traffic.stop()
    env.require.no_error(traffic.error, "traffic to node 100 must not fail while node 300 is down")
    env.require.greater(missed_while_down, 0)
    node_300.wait_for_envelopes(missed_while_down, client_only=True, timeout=120)
    env.wait_for_replication(timeout=120)
