"""smoke: the basic promise -- what one node accepts, every node stores."""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "smoke",
    "Start 3 nodes + 1 gateway, publish 10 envelopes to node 100, verify every node stores all 10",
    suites=("fast",),
    typical_seconds=8,
    setup=cluster(),
)
def smoke(env: Environment) -> None:
    nodes = env.nodes()
    published = env.new_client(100).publish_envelopes(10)
    env.require.length(published, 10, "node 100 must accept all 10 envelopes")
    for node in nodes:
        node.wait_for_envelopes(10, client_only=True)
    # Stronger than counting: every published (originator, sequence id) is on every node.
    env.wait_for_replication()
