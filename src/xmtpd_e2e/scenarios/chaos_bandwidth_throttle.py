"""chaos-bandwidth-throttle: 5 KB/s on every node's proxy degrades, then recovers fully.

Upstream asserts that all nodes end with *exactly equal* envelope counts, which flakes when a
payer report (which nodes store as envelopes too) lands mid-check.  Here every node must hold exactly the published
set, compared by (originator, sequence id).
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "chaos-bandwidth-throttle",
    "Throttle every node's proxy to 5 KB/s, publish, remove the limit, verify full convergence",
    suites=("fast",),
    typical_seconds=8,
    setup=cluster(),
)
def chaos_bandwidth_throttle(env: Environment) -> None:
    nodes = env.nodes()
    client = env.new_client(100)
    client.publish_envelopes(10)
    env.wait_for_replication()
    for node in nodes:
        node.limit_proxy_bandwidth(5)
    client.publish_envelopes(5)
    env.require.greater_or_equal(env.node(100).get_envelope_count(client_only=True), 15)
    for node in nodes:
        node.remove_all_toxics()
    client.publish_envelopes(20)
    env.wait_for_replication(timeout=120)
    for node in nodes:
        env.require.equal(node.get_envelope_count(client_only=True), 35, f"{node.alias} client envelopes")
