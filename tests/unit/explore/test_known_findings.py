"""The known findings replayed by ``explore --regression``: each record loads as a plan, with its
settings, and its recorded verdict shows the kind the regression counts."""

from __future__ import annotations

import json

import pytest

from xmtpd_e2e.explore.known_findings import KNOWN_FINDINGS, finding_for, finding_records
from xmtpd_e2e.explore.replay import load_schedule


@pytest.mark.parametrize("finding", KNOWN_FINDINGS, ids=lambda f: f.name)
def test_each_known_finding_is_a_replayable_record_showing_its_kind(finding: object) -> None:
    from xmtpd_e2e.explore.known_findings import KnownFinding

    assert isinstance(finding, KnownFinding)
    schedule, settings = load_schedule(finding.path)
    assert schedule.publishers and settings["xmtpd_version"]
    recorded = json.loads(finding.path.read_text())["verdict"]
    assert finding.kind in {v["kind"] for v in recorded["violations"]}
    assert finding_for(finding.path) == finding


def test_the_records_are_found_in_a_checkout() -> None:
    assert finding_records() == [f.path for f in KNOWN_FINDINGS]
