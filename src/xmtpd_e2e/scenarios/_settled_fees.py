"""Fees as money on a real run: per settled payer report and payer, what the originator charged
(its usage rows, read before settlement deletes them), what the report's leaves carried and what
the PayerRegistry debited, checked by :func:`xmtpd_e2e.explore.fee_checker.check_fees`."""

from __future__ import annotations

from eth_utils import to_checksum_address

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.api.node_handle import NodeHandle
from xmtpd_e2e.chain.settlements import report_settlements
from xmtpd_e2e.explore.fee_checker import PayerFees
from xmtpd_e2e.observe.observer import ReportUsage

__all__ = ["ReportPricing"]


class ReportPricing:
    """The usage each of an originator's reports covers, kept from the first time it is read:
    call :meth:`read` at every stage a report passes before it is settled."""

    def __init__(self, originator: NodeHandle) -> None:
        self._originator = originator
        self._usage: dict[str, ReportUsage] = {}

    def read(self) -> None:
        for usage in self._originator.observer.report_usage(self._originator.id):
            self._usage.setdefault(usage.report_id, usage)

    def settled_fees(self, env: Environment) -> list[PayerFees]:
        """One row per payer of every settled report whose usage was read before it settled.
        Requires at least one such report: without one there is nothing to compare."""
        rows = self._originator.observer.payer_reports()
        settled = [r for r in rows if r["submission_status"] == "settled" and r["id"] in self._usage]
        env.require.greater_or_equal(
            len(settled), 1, "a settled report whose usage was read before settlement cleared it"
        )
        fees = []
        for row in settled:
            originator_id, index = int(row["originator_node_id"]), int(row["submitted_report_index"])
            charged = {str(to_checksum_address(a)): p for a, p in self._usage[row["id"]].picodollars_by_payer.items()}
            chain = {s.payer: s for s in report_settlements(env.chain, originator_id, index)}
            for payer in sorted(set(charged) | set(chain)):
                on_chain = chain.get(payer)
                fees.append(
                    PayerFees(
                        payer,
                        usage_picodollars=charged.get(payer, 0),
                        settled_picodollars=on_chain.leaf_fee if on_chain else 0,
                        debited_base_units=on_chain.debited if on_chain else 0,
                        report=f"{originator_id}/{index}",
                    )
                )
        return fees
