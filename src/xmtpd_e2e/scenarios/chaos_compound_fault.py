"""chaos-compound-fault: latency and a bandwidth limit on two different nodes at once.

Traffic originates at the two degraded nodes as well as at node 100, so both faults sit on the
path of envelopes that must replicate (upstream only publishes to the healthy node).
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "chaos-compound-fault",
    "Latency 1000 ms on node 200 plus 10 KB/s on node 300 under traffic on all nodes; verify convergence",
    suites=("fast",),
    typical_seconds=22,
    setup=cluster(),
)
def chaos_compound_fault(env: Environment) -> None:
    nodes = env.nodes()
    env.new_client(100).publish_envelopes(10)
    env.wait_for_replication()
    env.node(200).add_latency(1000)
    env.node(300).limit_proxy_bandwidth(10)
    generators = [env.new_client(node.id).generate_traffic(duration=8, batch_size=5, interval=0.5) for node in nodes]
    for generator in generators:
        generator.wait()
        env.require.no_error(generator.error, "publishing directly to a node must not fail")
    for node in nodes:
        node.remove_all_toxics()
    env.require.greater(len(env.published), 10)
    env.wait_for_replication(timeout=180)
