"""payer-lifecycle's money check: per settled report and payer, the usage read before settlement,
the leaves and the debit are compared, and the fee-unit defect is recorded as its finding."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from xmtpd_e2e.api.require import Require
from xmtpd_e2e.chain.settlements import PayerSettlement
from xmtpd_e2e.errors import CheckFailed
from xmtpd_e2e.observe.observer import ReportUsage
from xmtpd_e2e.scenarios import _settled_fees
from xmtpd_e2e.scenarios._settled_fees import ReportPricing
from xmtpd_e2e.scenarios.payer_lifecycle import FEE_FINDING, money_findings
from xmtpd_e2e.timeline import Timeline

PAYER = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"
# A payer-lifecycle run on xmtpd v1.2.0 (2026-12-07, local): the originator charged 2,729,217,000
# picodollars, the leaf carried that number and the registry debited it as base units.
CHARGED = 2_729_217_000


@dataclass
class _Observer:
    usage: list[ReportUsage]
    reports: list[dict[str, Any]]

    def report_usage(self, originator_node_id: int) -> list[ReportUsage]:
        return [u for u in self.usage if u.originator_node_id == originator_node_id]

    def payer_reports(self) -> list[dict[str, Any]]:
        return self.reports


@dataclass
class _Originator:
    observer: _Observer
    id: int = 5700


@dataclass
class _Env:
    timeline: Timeline = field(default_factory=Timeline)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("test.payer-lifecycle"))
    chain: object = None

    def __post_init__(self) -> None:
        self.require = Require(self.log)


def _settled_row(report_id: str, index: int) -> dict[str, Any]:
    return {
        "id": report_id,
        "originator_node_id": 5700,
        "submitted_report_index": index,
        "submission_status": "settled",
    }


def _pricing(monkeypatch: pytest.MonkeyPatch, debited: int, *, read_before: bool = True) -> tuple[ReportPricing, _Env]:
    usage = ReportUsage("ab12", 5700, {PAYER.lower(): CHARGED})
    observer = _Observer([usage], [])
    pricing = ReportPricing(_Originator(observer))  # type: ignore[arg-type]
    if read_before:
        pricing.read()
    observer.usage, observer.reports = [], [_settled_row("ab12", 0)]  # settlement cleared the usage
    monkeypatch.setattr(
        _settled_fees, "report_settlements", lambda chain, o, i: [PayerSettlement(PAYER, CHARGED, debited)]
    )
    return pricing, _Env()


def test_the_fee_unit_defect_is_recorded_with_its_factor_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    pricing, env = _pricing(monkeypatch, debited=CHARGED)
    fees = pricing.settled_fees(env)  # type: ignore[arg-type]
    assert [(f.payer, f.usage_picodollars, f.report) for f in fees] == [(PAYER, CHARGED, "5700/0")]
    (message,) = money_findings(env, fees)  # type: ignore[arg-type]
    assert "in report 5700/0" in message and "1e+06 times" in message
    (event,) = [e for e in env.timeline.events() if e.name.startswith("finding:")]
    assert event.params["finding"] == FEE_FINDING and event.params["factor"] == 1_000_000
    assert event.params["what"].startswith("the chain debited")


def test_a_debit_in_base_units_rounded_up_is_no_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    pricing, env = _pricing(monkeypatch, debited=-(-CHARGED // 10**6))
    assert money_findings(env, pricing.settled_fees(env)) == []  # type: ignore[arg-type]


def test_a_settled_report_whose_usage_was_never_read_is_no_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    pricing, env = _pricing(monkeypatch, debited=CHARGED // 10**6, read_before=False)
    with pytest.raises(CheckFailed, match="usage was read before settlement"):
        pricing.settled_fees(env)  # type: ignore[arg-type]
