"""What the chain recorded when a payer report was settled: per payer, the fee its merkle leaf
carried and what the PayerRegistry debited.

A report is settled by one or more ``PayerReportManager.settle`` transactions, each carrying a run
of the report's leaves (``payerFees_``: ABI-encoded ``(address payer, uint96 fee)``) and each
logging ``PayerReportSubsetSettled``; the PayerRegistry logs one ``UsageSettled(payerReportId,
payer, amount)`` per leaf, ``amount`` in fee-token base units.  Reading both from the same
transactions tells "xmtpd put the wrong number in the leaf" apart from "the contract debited the
leaf in another unit than xmtpd wrote it in".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address
from web3.logs import DISCARD

if TYPE_CHECKING:
    from xmtpd_e2e.chain.client import Chain

__all__ = ["PayerSettlement", "report_settlements"]


@dataclass(frozen=True)
class PayerSettlement:
    """One payer's share of one settled payer report, as the chain recorded it."""

    payer: str
    """Checksummed address."""
    leaf_fee: int
    """The fee number the report's merkle leaves carried for the payer (summed over its leaves)."""
    debited: int
    """What the PayerRegistry took from the payer for this report, in fee-token base units."""


def report_settlements(chain: Chain, originator_node_id: int, index: int) -> list[PayerSettlement]:
    """Per payer, the leaf fees and debits of every ``settle`` transaction of report
    ``(originator_node_id, index)``; empty when nothing of it is settled yet."""
    manager = chain.contract("PayerReportManager")
    registry = chain.contract("PayerRegistry")
    logs = manager.events.PayerReportSubsetSettled().get_logs(
        from_block=0, argument_filters={"originatorNodeId": originator_node_id, "payerReportIndex": index}
    )
    leaf_fees: dict[str, int] = defaultdict(int)
    debited: dict[str, int] = defaultdict(int)
    for transaction_hash in dict.fromkeys(log["transactionHash"] for log in logs):
        transaction = chain.w3.eth.get_transaction(transaction_hash)
        _, arguments = manager.decode_function_input(transaction["input"])
        for payer, fee in _leaves(chain, arguments):
            leaf_fees[payer] += fee
        receipt = chain.w3.eth.get_transaction_receipt(transaction_hash)
        for event in registry.events.UsageSettled().process_receipt(receipt, errors=DISCARD):
            debited[str(to_checksum_address(event["args"]["payer"]))] += int(event["args"]["amount"])
    payers = sorted(set(leaf_fees) | set(debited))
    return [PayerSettlement(payer, leaf_fees[payer], debited[payer]) for payer in payers]


def _leaves(chain: Chain, arguments: dict[str, Any]) -> list[tuple[str, int]]:
    leaves: list[tuple[str, int]] = []
    for encoded in arguments["payerFees_"]:
        payer, fee = chain.w3.codec.decode(["address", "uint96"], bytes(encoded))
        leaves.append((str(to_checksum_address(payer)), int(fee)))
    return leaves
