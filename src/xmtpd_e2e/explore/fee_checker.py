"""Fees as money: per payer, what the nodes charged = what the settled reports carry = what the
chain debited.

The three sit in different places and units: the nodes' databases count usage in picodollars
(``unsettled_usage.spend_picodollars``), the payer reports' merkle leaves carry a fee number per
payer, and the PayerRegistry debits fee-token base units (6 decimals: 1 unit = 10^6
picodollars).  xmtpd v1.2.0 puts the picodollar numbers unchanged into the leaves and the
registry debits them as base units, so a payer pays 10^6 times what it was charged: that shows
here as a ``fee-mismatch`` whose ``factor`` is 1,000,000.  (smart-contracts fixed its side after
the v2026.02.10-1 contracts: the PayerReportManager divides each leaf's fee by 10^6, rounding up
to a whole base unit, before the registry debits it; a debit so rounded is the right amount.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from xmtpd_e2e.chain.units import PICODOLLARS_PER_BASE_UNIT
from xmtpd_e2e.explore.violation import Violation

__all__ = ["PayerFees", "check_fees", "due_base_units"]


@dataclass(frozen=True)
class PayerFees:
    """One payer's money in one settled report (or, on a hand-made ledger, in all of them)."""

    payer: str
    usage_picodollars: int
    """What the nodes' databases charged the payer (one node's view; nodes agree when converged)."""
    settled_picodollars: int
    """The fees the settled payer reports carry for the payer, read as picodollars (their unit)."""
    debited_base_units: int
    """What the PayerRegistry took from the payer's balance, in fee-token base units."""
    report: str = ""
    """Which settled report (``"<originator>/<index>"``); empty for a payer's whole ledger."""

    def to_list(self) -> list[Any]:
        row: list[Any] = [self.payer, self.usage_picodollars, self.settled_picodollars, self.debited_base_units]
        return row + [self.report] if self.report else row

    @classmethod
    def from_list(cls, row: Iterable[Any]) -> PayerFees:
        payer, usage, settled, debited, *report = row
        return cls(str(payer), int(usage), int(settled), int(debited), str(report[0]) if report else "")


def _factor(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else float(Fraction(numerator, denominator))


def _mismatch(fees: PayerFees, what: str, expected: int, got: int, details: Mapping[str, Any]) -> Violation:
    factor = _factor(got, expected)
    shown = f"{factor:,.6g} times" if factor is not None else "where nothing was due"
    where = f" in report {fees.report}" if fees.report else ""
    return Violation(
        "fee-mismatch",
        f"payer {fees.payer}{where}: {what} ({got:,} picodollars for {expected:,}: {shown})",
        None,
        {
            "payer": fees.payer,
            "report": fees.report,
            "what": what,
            "expected": expected,
            "got": got,
            "factor": factor,
            **details,
        },
    )


def due_base_units(picodollars: int) -> int:
    """The fee-token base units that pay ``picodollars``: rounded up to a whole base unit, as the
    contracts that convert do, so the protocol never undercharges."""
    return -(-picodollars // PICODOLLARS_PER_BASE_UNIT)


def check_fees(payers: Iterable[PayerFees]) -> list[Violation]:
    """Each payer's usage, settled fees and chain debit must be the same amount of money (the
    debit rounded up to a whole base unit)."""
    violations = []
    for fees in payers:
        if fees.settled_picodollars != fees.usage_picodollars:
            violations.append(
                _mismatch(
                    fees,
                    "the settled reports carry other fees than the nodes charged",
                    fees.usage_picodollars,
                    fees.settled_picodollars,
                    {},
                )
            )
        debited = fees.debited_base_units * PICODOLLARS_PER_BASE_UNIT
        if fees.debited_base_units != due_base_units(fees.settled_picodollars):
            violations.append(
                _mismatch(
                    fees,
                    "the chain debited another amount than the settled reports carry",
                    fees.settled_picodollars,
                    debited,
                    {"debited_base_units": fees.debited_base_units},
                )
            )
    return violations
