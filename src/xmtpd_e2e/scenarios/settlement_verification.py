"""settlement-verification: what a node's database says was settled, the chain says too.

Upstream only checks ``isSettled`` for each settled report.  Here every settled report's
sequence range, end minute and node set in the node database must equal the on-chain
PayerReportManager record, and the unsettled usage of the settled range must be gone.
The originator id is aligned with the report schedule so this takes minutes, not an hour.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import report_cluster


@scenario(
    "settlement-verification",
    "Drive a payer report to settlement; every settled report in the DB matches the chain",
    typical_seconds=800,
    timeout_seconds=2400,
)
def settlement_verification(env: Environment) -> None:
    originator, _, _ = report_cluster(env)
    traffic = env.new_client(originator.id).generate_traffic(batch_size=10, interval=2.0)
    originator.wait_for_payer_reports(lambda c: c.settled >= 1, "a report is settled", timeout=1800)
    traffic.stop()
    env.require.no_error(traffic.error)

    rows = {
        (r["originator_node_id"], r["submitted_report_index"]): r
        for r in originator.observer.payer_reports()
        if r["submission_status"] == "settled"
    }
    env.require.greater_or_equal(len(rows), 1)
    for (originator_id, index), row in sorted(rows.items()):
        onchain = env.chain.payer_report(originator_id, index)
        label = f"report {originator_id}/{index}"
        env.require.true(onchain.is_settled, f"{label} is settled on chain")
        env.require.equal(onchain.start_sequence_id, row["start_sequence_id"], f"{label} start sequence id")
        env.require.equal(onchain.end_sequence_id, row["end_sequence_id"], f"{label} end sequence id")
        env.require.equal(onchain.end_minute_since_epoch, row["end_minute_since_epoch"], f"{label} end minute")
        env.require.equal(sorted(onchain.node_ids), sorted(row["active_node_ids"]), f"{label} node set")
