"""Fees as money on hand-made ledgers: agreeing amounts pass; the fee-unit defect shows with its
factor; settled reports that drift from usage are caught."""

from __future__ import annotations

from xmtpd_e2e.explore.checker import check
from xmtpd_e2e.explore.fee_checker import PayerFees, check_fees
from xmtpd_e2e.explore.final_state import FinalState

from .test_checker import STORED, VALID, final, node

# payer-lifecycle on xmtpd v1.2.0: the nodes charged 2,961,000,000 picodollars ($0.002961), the
# reports settled that number, and the registry debited it as base units (2,961 xUSD).
CHARGED = 2_961_000_000


def test_the_same_money_everywhere_passes() -> None:
    assert check_fees([PayerFees("0xa", CHARGED, CHARGED, CHARGED // 10**6)]) == []


def test_the_fee_unit_defect_is_a_violation_with_its_factor() -> None:
    (violation,) = check_fees([PayerFees("0xa", CHARGED, CHARGED, CHARGED)])
    assert violation.kind == "fee-mismatch" and violation.details["factor"] == 1_000_000
    assert "1e+06 times" in violation.message and "0xa" in violation.message


def test_settled_reports_that_differ_from_usage_are_caught() -> None:
    (violation,) = check_fees([PayerFees("0xb", 2 * 10**9, 10**9, 1000)])
    assert violation.details["what"].startswith("the settled reports") and violation.details["factor"] == 0.5


def test_fees_travel_in_the_final_state_and_reach_the_verdict() -> None:
    state = final(node(100, STORED))
    state.fees = [PayerFees("0xa", CHARGED, CHARGED, CHARGED)]
    again = FinalState.from_dict(state.to_dict())
    assert again.fees == state.fees
    assert check(VALID, again).kinds() == {"fee-mismatch"}


def test_a_debit_rounded_up_to_a_whole_base_unit_is_the_right_amount() -> None:
    # the fixed PayerReportManager divides each leaf by 10^6, rounding up: 2,961,000,001 -> 2,962
    assert check_fees([PayerFees("0xa", CHARGED + 1, CHARGED + 1, CHARGED // 10**6 + 1)]) == []
    (violation,) = check_fees([PayerFees("0xa", CHARGED + 1, CHARGED + 1, CHARGED // 10**6)])
    assert violation.details["what"].startswith("the chain debited")


def test_a_report_named_is_in_the_message_and_survives_the_final_state() -> None:
    fees = PayerFees("0xa", CHARGED, CHARGED, CHARGED, report="100/0")
    (violation,) = check_fees([fees])
    assert "in report 100/0" in violation.message and violation.details["report"] == "100/0"
    assert PayerFees.from_list(fees.to_list()) == fees
    assert PayerFees.from_list(["0xa", 1, 1, 0]).report == ""
