"""chaos-packet-loss-recovery: chaos-packet-loss, waiting as long as xmtpd takes to recover.

The same loss as ``chaos-packet-loss``, with 15 s of traffic; the convergence wait under loss is 90 s, and
after the heal every envelope must reach every node within 600 s -- past TCP's 120 s
retransmission ceiling several times over, since a stalled sync stream waits for those
(``docs/findings/sync-stream-stalls-after-packet-loss.md``).  The time recovery took is logged.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster
from xmtpd_e2e.scenarios.chaos_packet_loss import lossy_traffic_then_heal


@scenario(
    "chaos-packet-loss-recovery",
    "chaos-packet-loss with up to 600 s for every node to converge after the heal; logs the recovery time",
    typical_seconds=120,
    setup=cluster(),
    timeout_seconds=900,
)
def chaos_packet_loss_recovery(env: Environment) -> None:
    healed = lossy_traffic_then_heal(env, traffic_seconds=15, under_loss_wait=90)
    env.wait_for_replication(timeout=600)  # nothing lost, once TCP's backed-off retransmissions resume
    env.log.info("recovered %.1f s after the heal", time.monotonic() - healed)
