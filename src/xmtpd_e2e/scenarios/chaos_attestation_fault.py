"""chaos-attestation-fault: a payer report still reaches the chain with one of three nodes down.

Upstream waits for the local "approved" count to grow, which is only the local node's own
verdict and can pass within seconds when the earlier report was not yet attested locally.  Here node 300 is killed *before* the report is
generated, so only two nodes can attest; the report must still be submitted on chain (quorum
2 of 3), and node 300 must catch up on everything after it restarts.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import report_cluster


@scenario(
    "chaos-attestation-fault",
    "Kill a node before a payer report is generated; the report is still submitted with 2 of 3",
    typical_seconds=500,
    timeout_seconds=2400,
)
def chaos_attestation_fault(env: Environment) -> None:
    originator, nodes, _ = report_cluster(env)
    down = nodes[2]
    traffic = env.new_client(originator.id).generate_traffic(batch_size=10, interval=2.0)
    env.require.eventually(
        lambda: originator.get_envelope_count(client_only=True) > 0,
        timeout=60,
        description="traffic to reach the originator",
    )
    down.stop(kill=True)
    counts = originator.wait_for_payer_reports(
        lambda c: c.submitted + c.settled >= 1, f"a report is submitted while {down.alias} is down", timeout=1800
    )
    env.require.false(down.is_running, f"{down.alias} stayed down while the report was submitted")
    env.log.info("report statuses with %s down: %s", down.alias, counts)
    traffic.stop()
    env.require.no_error(traffic.error)
    down.start()
    env.wait_for_replication(timeout=180)
