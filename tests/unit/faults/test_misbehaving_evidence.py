"""How an exercised misbehaviour is judged: what got through is named once per node with its
finding; refusals and identical rows are not violations."""

from __future__ import annotations

from xmtpd_e2e.faults.misbehaving_evidence import Evidence, Outcome, findings_in


def test_an_altered_row_is_reported_once_per_node_with_its_finding() -> None:
    bad = Evidence("node-200", altered=[(100, 2)], badly_signed=[(100, 2)])
    outcome = Outcome(
        "bad-signature", [(100, 2)], during=[bad], after=[bad, Evidence("node-300", identical=[(100, 2)])]
    )
    [violation] = outcome.violations()
    assert violation.startswith("[sync-unverified-originator-signature] bad-signature, after heal: node-200")
    assert findings_in(outcome.violations()) == ["sync-unverified-originator-signature"]


def test_a_gap_counts_only_when_it_outlives_the_heal() -> None:
    gap = Evidence("node-300", refused=[(100, 7)], identical=[(100, 8)], gaps=[(100, 7)])
    assert Outcome("skip-sequence", [], during=[gap], after=[Evidence("node-300")]).violations() == []
    [violation] = Outcome("skip-sequence", [], during=[], after=[gap]).violations()
    assert "[sync-gap-accepted]" in violation


def test_refusing_and_identical_rows_are_no_violation() -> None:
    held = Evidence("node-200", refused=[(100, 2)], identical=[(100, 3)])
    assert Outcome("equivocate", [], during=[held], after=[held]).violations() == []
