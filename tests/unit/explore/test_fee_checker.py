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
