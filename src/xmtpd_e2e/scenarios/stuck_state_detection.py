"""stuck-state-detection: a report whose node set no longer matches the chain gets stuck, visibly.

Upstream removes three of four nodes from the canonical network and expects reports to stop
being approved, but running xmtpd nodes never notice a removal (they keep their cached node list
until they restart, and skip only non-canonical nodes when they first read it): attestation
goes on, and the one thing that really stops is the on-chain submission, because the
PayerReportManager requires a report's node set to equal the current canonical set.

So this scenario generates a report with four canonical nodes, removes three of them from the
canonical network before the submitter runs, and asserts the stuck state: the report is
attested but still not submitted after the submitter's slot has passed.  It then restores the
network and checks the cluster is healthy again (the next submission attempt is an hour away,
so recovery is asserted on the canonical set and on replication, not on that report).
"""

from __future__ import annotations

from datetime import datetime, timezone

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.observe.report_schedule import SUBMITTER, next_firing
from xmtpd_e2e.polling import sleep_until
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import report_cluster


@scenario(
    "stuck-state-detection",
    "Remove 3 of 4 nodes from the canonical network after a report is made; submission gets stuck",
    typical_seconds=560,
    timeout_seconds=2400,
)
def stuck_state_detection(env: Environment) -> None:
    originator, nodes, _ = report_cluster(env, nodes=4)
    traffic = env.new_client(originator.id).generate_traffic(batch_size=10, interval=2.0)
    originator.wait_for_payer_reports(lambda c: c.approved >= 1, "a report is attested", timeout=1800)
    removed = nodes[1:]
    for node in removed:
        env.remove_node_from_canonical_network(node.id)
    env.require.equal(env.chain.canonical_node_ids(), [originator.id])

    submitter_slot = next_firing(originator.id, datetime.now(timezone.utc), SUBMITTER)
    env.log.info("waiting for %s's submitter slot at %s", originator.alias, submitter_slot.strftime("%H:%M"))
    # Sleeping is the point here: the stuck state is "nothing happened when it should have".
    sleep_until(
        submitter_slot.timestamp() + 60,
        f"{originator.alias}'s submitter slot to pass (a minute after {submitter_slot.strftime('%H:%M UTC')})",
        targets=(originator.alias,),
    )
    stuck = originator.get_payer_report_status_counts()
    env.require.greater_or_equal(stuck.approved, 1, "the report is attested")
    env.require.equal(stuck.submitted + stuck.settled, 0, "no report can be submitted with a mismatched node set")

    for node in removed:
        env.add_node_to_canonical_network(node.id)
    env.require.equal(sorted(env.chain.canonical_node_ids()), sorted(n.id for n in nodes))
    traffic.stop()
    env.require.no_error(traffic.error, "publishing is unaffected by the canonical-network change")
    env.wait_for_replication(timeout=120)
