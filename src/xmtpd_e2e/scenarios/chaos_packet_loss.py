"""chaos-packet-loss: 30 % of the packets on node 300's links to its peers dropped; slower, nothing lost.

The loss is real: iptables ``statistic`` rules inside the nodes' namespaces drop 30 % of the
packets, in each direction, of every sync stream between node 300 and nodes 100 and 200 (both
the streams node 300 opens and those it serves).  Publishing to every node must not fail, and
every envelope must reach every node: the scenario waits a while for that with the loss in force
(logging how far it got if not), then heals and requires full convergence.

Two variants.  ``chaos-packet-loss`` (fast suite) publishes for 6 s under the loss, waits up to
5 s for convergence with the loss in force, and gives xmtpd a recovery budget of 30 s after the
heal (healthy runs recover in seconds).  A node still missing envelopes then is xmtpd's known
stall (``docs/findings/sync-stream-stalls-after-packet-loss.md``): the scenario records it as a
``check`` event named ``finding: recovery over budget`` on the timeline (results JSON, HTML
report) with the lagging nodes, logs it as a warning, and requires that nothing was lost where
it was acknowledged -- every envelope on the node that accepted it -- without waiting minutes
for the stalled streams: the run's recovery record (results ``recoveries``) says how long they
took or that they had not recovered at the end.  ``chaos-packet-loss-recovery`` (full suite)
publishes for 15 s, waits 90 s under loss, and requires every envelope on every node within
600 s of the heal, logging how long recovery took.

Why so long after healing: with 30 % loss each way a segment and its ack both get through only
half the time, and TCP doubles its retransmission timer on every miss, up to Linux's ceiling of
120 s.  A sync stream crosses four such half-connections (node to proxy and proxy to node, each
way), and we think HTTP/2 flow control makes them wait on each other (the server sends more
only after the client's window update has crossed back; not proven).  xmtpd does not notice a
silent stream by itself, so after healing the stalled hops can stay silent until their next
retransmissions, one after the other.  Seen in clean-clone runs: node 200 still missed 165 of
node 300's envelopes 120 s after healing (docker, under load), and 45 of them 180 s after
(local), with no reconnect in its log; in most runs it converges within seconds.  The wait ends
as soon as every node has everything.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.errors import CheckFailed
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._findings import record_finding
from xmtpd_e2e.scenarios._topology import cluster

FINDING = "docs/findings/sync-stream-stalls-after-packet-loss.md"
RECOVERY_BUDGET_SECONDS = 30.0


@scenario(
    "chaos-packet-loss",
    "Drop 30% of the packets between node 300 and its peers while clients publish to every node; all converge",
    suites=("fast",),
    typical_seconds=20,
    setup=cluster(),
)
def chaos_packet_loss(env: Environment) -> None:
    healed = lossy_traffic_then_heal(env, traffic_seconds=6, under_loss_wait=5)
    converge_or_record_stall(env, healed)


def converge_or_record_stall(env: Environment, healed: float) -> None:
    """Every node converges within the budget; past it, the known stall is recorded as a finding
    and only loss at the originators fails the scenario (see the module docstring)."""
    try:
        env.wait_for_replication(timeout=RECOVERY_BUDGET_SECONDS)
    except CheckFailed as stalled:
        record_finding(
            env,
            "recovery over budget",
            FINDING,
            budget_seconds=RECOVERY_BUDGET_SECONDS,
            lagging=str(stalled),
            seconds_after_heal=round(time.monotonic() - healed, 1),
        )
        acknowledged = env.published.all()
        for node in env.nodes():
            own = {(e.originator_node_id, e.sequence_id) for e in acknowledged if e.originator_node_id == node.id}
            env.require.length(node.missing_envelopes(own), 0, f"{node.alias} must hold every envelope it acknowledged")
        return
    env.log.info("recovered %.1f s after the heal", time.monotonic() - healed)


def lossy_traffic_then_heal(env: Environment, *, traffic_seconds: float, under_loss_wait: float) -> float:
    """On the standard cluster (the scenario's set-up): loss on node 300's sync links while clients
    publish to every node for ``traffic_seconds``; waits up to ``under_loss_wait`` for convergence
    under loss (not required), heals, and returns the heal's ``time.monotonic()``."""
    env.new_client(100).publish_envelopes(5)
    env.wait_for_replication()

    links = [env.add_packet_loss(30, (300, peer)) for peer in (100, 200)]
    generators = [
        env.new_client(node).generate_traffic(duration=traffic_seconds, batch_size=5, interval=0.2)
        for node in (100, 200, 300)
    ]
    for generator in generators:
        generator.wait()
        env.require.no_error(generator.error, f"publishing ({generator.name}) must not fail")
        env.require.greater(generator.published_count, 0)
    try:
        env.wait_for_replication(timeout=under_loss_wait)  # with the loss still in force
        env.log.info("converged with 30% loss still in force")
    except CheckFailed as lagging:
        # Not a failure by itself: with 30% of the packets lost each way, TCP backs off for
        # long stretches (once, on docker, a stream to node 300 made no progress for 180 s).
        env.log.warning("not converged under loss: %s", lagging)
    for link in links:
        link.heal()
    return time.monotonic()
