"""chaos-asymmetric-partition: node 300 cannot reach node 100, node 100 still reaches node 300.

xmtpd's sync is pull-based: each node opens a stream to every peer and asks for the envelopes
that peer originated.  With ``env.cut(300, 100)`` node 300's stream to node 100 stalls (its
packets are dropped inside node 300's namespace) while node 100's stream to node 300 is
untouched.  So node 100 receives node 300's envelopes and node 300 receives none of node 100's;
node 200, unaffected, receives both.  After healing, everything converges.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "chaos-asymmetric-partition",
    "One-way cut: node 300 cannot reach node 100 but node 100 reaches node 300; verify each direction, heal",
    suites=("fast",),
    typical_seconds=16,
    setup=cluster(),
)
def chaos_asymmetric_partition(env: Environment) -> None:
    node_100, node_200, node_300 = env.node(100), env.node(200), env.node(300)
    env.new_client(100).publish_envelopes(5)
    env.wait_for_replication()

    cut = env.cut(300, 100)
    from_100 = {(e.originator_node_id, e.sequence_id) for e in env.new_client(100).publish_envelopes(20)}
    from_300 = {(e.originator_node_id, e.sequence_id) for e in env.new_client(300).publish_envelopes(20)}
    env.require.eventually(
        lambda: node_100.has_envelopes(from_300),
        timeout=60,
        description="node 100 to receive node 300's envelopes (its stream to 300 is not cut)",
    )
    env.require.eventually(
        lambda: node_200.has_envelopes(from_100 | from_300),
        timeout=60,
        description="node 200, outside the cut, to receive both",
    )
    time.sleep(3)  # give node 300 every chance to receive node 100's envelopes some other way
    leaked = from_100 - node_300.missing_envelopes(from_100)
    env.require.length(leaked, 0, "node 300 must receive nothing from node 100 while it cannot reach it")

    cut.heal()
    env.wait_for_replication(timeout=120)
