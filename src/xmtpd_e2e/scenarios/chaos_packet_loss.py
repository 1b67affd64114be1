"""chaos-packet-loss: 30 % of the packets on node 300's links to its peers dropped; slower, nothing lost.

The loss is real: iptables ``statistic`` rules inside the nodes' namespaces drop 30 % of the
packets, in each direction, of every sync stream between node 300 and nodes 100 and 200 (both
the streams node 300 opens and those it serves).  TCP retransmits, so every envelope published
to any node must still reach every node, with the loss still in force.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import standard_cluster


@scenario(
    "chaos-packet-loss",
    "Drop 30% of the packets between node 300 and its peers while clients publish to every node; all converge",
    suites=("fast",),
    typical_seconds=45,
)
def chaos_packet_loss(env: Environment) -> None:
    standard_cluster(env)
    env.new_client(100).publish_envelopes(5)
    env.wait_for_replication()

    links = [env.add_packet_loss(30, (300, peer)) for peer in (100, 200)]
    generators = [env.new_client(node).generate_traffic(duration=15, batch_size=5, interval=0.2)
                  for node in (100, 200, 300)]
    for generator in generators:
        generator.wait()
        env.require.no_error(generator.error, f"publishing ({generator.name}) must not fail")
        env.require.greater(generator.published_count, 0)
    env.wait_for_replication(timeout=180)  # with the loss still in force
    for link in links:
        link.heal()
