"""sync-verification: two originators, and every node ends with the same vector clock.

Upstream waits for 20 envelopes per node although 40 were published, and compares the clocks
once.  Here every node must hold all 40 and the clocks must converge to identical values.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "sync-verification",
    "Publish 20 envelopes each to nodes 100 and 200; every node converges to the same vector clock",
    suites=("fast",),
    typical_seconds=9,
    setup=cluster(),
)
def sync_verification(env: Environment) -> None:
    nodes = env.nodes()
    env.new_client(100).publish_envelopes(20)
    env.new_client(200).publish_envelopes(20)
    env.wait_for_replication()
    reference = nodes[0]

    def clocks_agree() -> bool:
        clock = reference.get_vector_clock()
        return bool(clock) and all(node.get_vector_clock() == clock for node in nodes[1:])

    env.require.eventually(clocks_agree, timeout=60, description="vector clocks of all nodes to agree")
    clock = reference.get_vector_clock()
    env.require.greater_or_equal(clock.get(100, 0), 20)
    env.require.greater_or_equal(clock.get(200, 0), 20)
