"""payer-lifecycle: the whole money path, from deposit to node payout and payer withdrawal.

Differences from upstream, and why:
* The originating node's id is chosen so its report generator fires minutes after traffic
  starts (xmtpd runs it once per wall-clock hour), so this takes ~15 minutes, not ~90.
* The payer deposits 1,000,000 xUSD (1e12 base units), not 1e18 base units, which overflows the
  nodes' ledger: each node converts a deposit to picodollars (x1e6) in an int64 and skips any
  deposit above ~9.22e12 base units as an invalid event.  It must be that large because of the
  next point, which upstream's 1e18 deposit hides.
* Fees as money: for every settled report, what the originator charged each payer (its usage
  rows, read before settlement clears them), what the report's merkle leaves carried and what
  the PayerRegistry debited must be the same amount (``explore/fee_checker.py``).  xmtpd writes
  picodollars into the leaves and the v2026.02.10-1 PayerReportManager (the contracts xmtpd
  v1.3.0's compose pins) forwards them unchanged to the registry, which debits them as base
  units: the payer pays 10^6 times what it was charged (620 messages priced at $0.003 settled as
  2,961 xUSD).  That is recorded as a finding at once and fails the scenario last, after the
  rest of the money path has been checked
  (``docs/findings/payer-debited-picodollars-as-base-units.md``).
* The chain's own accounting must hold as well: payer debit == fees settled by the reports ==
  excess.
* Stronger ending: after requesting a withdrawal of its remaining balance the payer crosses the
  2-day lock with anvil time travel and *finalizes* it, receiving exactly that amount.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.chain.units import xusd
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.explore.fee_checker import PayerFees, check_fees
from xmtpd_e2e.scenarios._findings import record_finding
from xmtpd_e2e.scenarios._settled_fees import ReportPricing
from xmtpd_e2e.scenarios._topology import report_cluster

WITHDRAW_LOCK_SECONDS = 2 * 24 * 3600
FEE_FINDING = "docs/findings/payer-debited-picodollars-as-base-units.md"


@scenario(
    "payer-lifecycle",
    "Fund a payer, publish, follow payer reports to settlement, distribute fees, withdraw",
    typical_seconds=800,
    timeout_seconds=2400,
)
def payer_lifecycle(env: Environment) -> None:
    originator, nodes, _ = report_cluster(env)
    owner_balances = {node.id: node.get_fee_token_balance() for node in nodes}
    client = env.new_client(originator.id)
    deposit = xusd(1_000_000)
    client.deposit(deposit)
    funded = client.get_payer_balance()
    env.require.equal(funded, deposit, "payer balance after deposit")

    pricing = ReportPricing(originator)
    traffic = client.generate_traffic(batch_size=10, interval=2.0)
    originator.wait_for_payer_reports(lambda c: c.total >= 1, "a payer report exists", timeout=1200)
    pricing.read()
    originator.wait_for_payer_reports(lambda c: c.approved >= 1, "a report is approved", timeout=600)
    pricing.read()
    originator.wait_for_payer_reports(lambda c: c.submitted + c.settled >= 1, "a report is submitted", timeout=900)
    pricing.read()
    originator.wait_for_payer_reports(lambda c: c.settled >= 1, "a report is settled", timeout=900)
    traffic.stop()
    env.require.no_error(traffic.error, "paid traffic must not fail")

    for node in nodes:
        counts = node.wait_for_payer_reports(lambda c: c.settled >= 1, "the settlement is indexed", timeout=120)
        env.require.equal(counts.rejected, 0, f"{node.alias} has no rejected reports")

    spent = funded - client.get_payer_balance()
    env.require.greater(spent, 0, "settlement charged the payer")
    pairs = sorted({(r.originator_node_id, r.report_index) for r in originator.get_settled_payer_reports()})
    settled_fees = sum(env.chain.payer_report(o, i).fees_settled for o, i in pairs)
    env.require.equal(spent, settled_fees, "the payer was debited exactly the fees the settled reports carry")
    env.log.info(
        "settled %d report(s): payer debited %d xUSD base units ($%.6f as xUSD; $%.9f read as picodollars)",
        len(pairs),
        spent,
        spent / 1e6,
        spent / 1e12,
    )
    money = money_findings(env, pricing.settled_fees(env))
    excess = env.get_payer_registry_excess()
    env.require.equal(excess, spent, "everything charged is excess in the PayerRegistry")
    env.require.equal(env.send_excess_to_fee_distributor(), excess)

    originators, indices = [p[0] for p in pairs], [p[1] for p in pairs]
    for node in nodes:
        claimed = node.claim_fees(originators, indices)
        env.require.greater(claimed, 0, f"{node.alias} claims a share of the settled fees")
        owed = node.get_distribution_owed_fees()
        env.require.equal(node.withdraw_fees(), owed, f"{node.alias} withdraws what it is owed")
        env.require.greater(
            node.get_fee_token_balance(), owner_balances[node.id], f"{node.alias}'s owner received fee tokens"
        )

    remaining = client.get_payer_balance()
    env.require.equal(remaining + excess, funded, "remaining balance + distributed fees = deposit")
    client.request_withdrawal(remaining)
    env.require.equal(client.get_payer_balance(), 0)
    before = client.get_fee_token_balance()
    env.advance_chain_time(WITHDRAW_LOCK_SECONDS + 1)
    client.finalize_withdrawal()
    env.require.equal(client.get_fee_token_balance() - before, remaining, "finalized withdrawal pays out")
    # Last, so that a run meeting the defect still shows whether the rest of the money path works.
    env.require.length(
        money,
        0,
        f"every payer is debited what the nodes charged it (else: known defect, {FEE_FINDING})",
    )


def money_findings(env: Environment, fees: list[PayerFees]) -> list[str]:
    """What :func:`check_fees` says of the settled reports' money, each violation recorded at once
    as the finding's event (with the payer, report, amounts and factor)."""
    violations = check_fees(fees)
    for violation in violations:
        record_finding(env, "payer debited another amount than the nodes charged", FEE_FINDING, **violation.details)
    return [violation.message for violation in violations]
