"""large-cluster: 25 nodes converge under traffic into several of them, across a node crash.

Every node syncs from every other node, so a cluster's streams grow with the square of its size:
25 nodes hold 600 sync streams where upstream's largest test (4 nodes) holds 12.  Four clients
publish straight into four nodes spread over the cluster and a fifth through the gateway while
one node in the middle is killed (SIGKILL) and restarted on its data.  Nothing may fail, the
restarted node must catch up on what it missed, and the global invariants then hold on all 25.
The scale benchmark (``bench/scale.py``) measures what such a cluster costs.

Payer-report workers are off here.  With them on, every report a node generates is attested by
all 25 nodes and every attestation is replicated to all 25, so node-originated envelopes keep
arriving for minutes after the traffic stops and the 25 vector clocks are never identical at one
instant (seen on docker: they differed by one attestation on several originators for the whole
check).  Reports and their quorum have their own scenarios.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster

NODES = 25
TRAFFIC_SECONDS = 30


@scenario(
    "large-cluster",
    f"{NODES} nodes: traffic into five, one killed and restarted; every envelope on every node",
    typical_seconds=240,
    timeout_seconds=1500,
    setup=cluster(nodes=NODES, node_env={"XMTPD_PAYER_REPORT_RUN_WORKERS": "false"}),
)
def large_cluster(env: Environment) -> None:
    nodes = env.nodes()
    senders = [nodes[0], nodes[6], nodes[18], nodes[24]]
    victim = nodes[12]
    clients = [env.new_client(node.id) for node in senders] + [env.new_client(via_gateway=0)]
    traffic = [c.generate_traffic(duration=TRAFFIC_SECONDS, batch_size=5, interval=1.0) for c in clients]
    env.require.eventually(
        lambda: victim.get_envelope_count(client_only=True) > 0,
        timeout=120,
        description=f"node {victim.id} to receive traffic",
    )
    victim.stop(kill=True)
    stored_when_killed = victim.get_envelope_count(client_only=True)
    env.require.eventually(
        lambda: senders[0].get_envelope_count(client_only=True) > stored_when_killed + 20,
        timeout=120,
        description=f"traffic to go on while node {victim.id} is down",
    )
    victim.start()
    for generator in traffic:
        generator.wait()
        env.require.no_error(generator.error, f"{generator.name}: traffic must not fail in a {NODES}-node cluster")
    published = len(env.published)
    env.log.info("%d envelopes published into %d nodes and a gateway", published, len(senders))
    victim.wait_for_envelopes(published, client_only=True, timeout=300)
    env.wait_for_replication(timeout=300)
