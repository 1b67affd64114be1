"""The checker on hand-made histories: a valid one passes, each violation kind is caught."""

from __future__ import annotations

from xmtpd_e2e.explore.checker import CheckOptions, Verdict, check
from xmtpd_e2e.explore.final_state import FinalState, NodeState, StoredEnvelope, UsageRow
from xmtpd_e2e.explore.history import History, Operation
from xmtpd_e2e.timeline import TimelineEvent

PAYER = "0xPayer"
T0 = 1000.0


def op(
    op_id: int,
    topics: list[str],
    keys: list[tuple[int, int]] | None,
    *,
    invoke: float,
    complete: float,
    outcome: str = "ok",
    target: str = "node-100",
    process: str = "p0",
    error: str | None = None,
) -> Operation:
    return Operation(
        op_id,
        process,
        target,
        T0 + invoke,
        topics,
        T0 + complete,
        outcome,
        keys or [],
        error,
        None if outcome == "ok" else "UNKNOWN",
    )


def history(*operations: Operation, events: tuple[TimelineEvent, ...] = ()) -> History:
    return History(list(operations), list(events), T0, T0 + 60, T0 + 61)


def node(
    node_id: int,
    stored: list[tuple[int, int, str]],
    *,
    clock: dict[int, int] | None = None,
    usage: dict[int, int] | None = None,
    extra_sequences: dict[int, list[int]] | None = None,
    staged: int = 0,
) -> NodeState:
    envelopes = [StoredEnvelope(o, s, t, PAYER) for o, s, t in stored]
    sequences: dict[int, list[int]] = {}
    for o, s, _ in stored:
        sequences.setdefault(o, []).append(s)
    for o, extra in (extra_sequences or {}).items():
        sequences.setdefault(o, []).extend(extra)
    sequences = {o: sorted(s) for o, s in sequences.items()}
    if usage is None:
        counts: dict[int, int] = {}
        for o, _, _ in stored:
            counts[o] = counts.get(o, 0) + 1
        usage = counts
    return NodeState(
        node_id,
        True,
        True,
        envelopes,
        sequences,
        clock if clock is not None else {o: max(s) for o, s in sequences.items()},
        [UsageRow(PAYER, o, c, c * 10) for o, c in usage.items()],
        staged,
    )


def final(*nodes: NodeState) -> FinalState:
    return FinalState({n.node_id: n for n in nodes}, T0 + 62)


# A valid run: node 100 took a-b-c, node 200 took d; both nodes hold everything.
STORED = [(100, 1, "a"), (100, 2, "b"), (100, 3, "c"), (200, 1, "d")]
VALID = history(
    op(1, ["a", "b"], [(100, 1), (100, 2)], invoke=0, complete=0.1),
    op(2, ["c"], [(100, 3)], invoke=1, complete=1.1),
    op(3, ["d"], [(200, 1)], invoke=1, complete=1.1, target="node-200", process="p1"),
)


def kinds(verdict: Verdict) -> set[str]:
    return verdict.kinds()


def test_a_valid_history_passes() -> None:
    verdict = check(VALID, final(node(100, STORED), node(200, STORED)))
    assert verdict.ok, verdict.violations
    assert verdict.stats["acknowledged_envelopes"] == 4


def test_an_acknowledged_envelope_missing_on_one_node_is_caught_and_the_node_named() -> None:
    partial = [e for e in STORED if e[0] == 200]
    verdict = check(VALID, final(node(100, STORED), node(300, partial, clock={100: 3, 200: 1})))
    missing = [v for v in verdict.violations if v.kind == "missing"]
    assert len(missing) == 1 and missing[0].node == 300
    assert "3 of 4" in missing[0].message and "100:1" in missing[0].message


def test_a_node_that_is_down_is_not_checked_but_noted() -> None:
    down = NodeState(300, False, True)
    verdict = check(VALID, final(node(100, STORED), node(200, STORED), down))
    assert verdict.ok and verdict.notes == ["node 300 not checked: down"]


def test_another_envelope_under_an_acknowledged_key_is_a_mismatch() -> None:
    swapped = [(100, 1, "b"), (100, 2, "a"), (100, 3, "c"), (200, 1, "d")]
    verdict = check(VALID, final(node(100, swapped)))
    assert "mismatch" in kinds(verdict)


def test_an_envelope_stored_twice_is_a_duplicate_acknowledged_or_not() -> None:
    twice = [*STORED, (100, 4, "a")]
    assert "duplicate" in kinds(check(VALID, final(node(100, twice))))
    unknown = history(*VALID.operations, op(4, ["x"], None, invoke=2, complete=12, outcome="unknown"))
    stored_once = [*STORED, (100, 4, "x")]
    assert check(unknown, final(node(100, stored_once))).kinds() == {"liveness"}  # absent or once: fine
    stored_twice = [*STORED, (100, 4, "x"), (100, 5, "x")]
    assert "duplicate" in kinds(check(unknown, final(node(100, stored_twice))))


def test_a_refused_envelope_that_is_stored_anyway_is_caught() -> None:
    refused = history(*VALID.operations, op(4, ["x"], None, invoke=2, complete=2.1, outcome="fail"))
    verdict = check(refused, final(node(100, [*STORED, (100, 4, "x")])), CheckOptions(slow_seconds=5))
    assert "failed-stored" in kinds(verdict)


def test_holes_in_an_originators_sequence_are_gaps_and_attributed() -> None:
    # node 100 skipped 2 itself (reported once, on node 100); node 200 additionally lacks 100:3.
    own = node(100, [(100, 1, "a"), (100, 3, "c"), (100, 4, "e")])
    replica = node(200, [(100, 1, "a"), (100, 4, "e")], clock={100: 4})
    hist = history(
        op(1, ["a"], [(100, 1)], invoke=0, complete=0.1),
        op(2, ["c"], [(100, 3)], invoke=1, complete=1.1),
        op(3, ["e"], [(100, 4)], invoke=2, complete=2.1),
    )
    gaps = [v for v in check(hist, final(own, replica)).violations if v.kind == "sequence-gap"]
    assert [(v.node, v.details["holes"]) for v in gaps] == [(100, [2]), (200, [3])]


def test_payer_reports_fill_sequence_ids_without_being_client_envelopes() -> None:
    with_report = node(100, STORED, extra_sequences={100: [4]})
    assert check(VALID, final(with_report)).ok


def test_a_later_publish_with_a_smaller_sequence_id_breaks_order() -> None:
    stored = [(100, 1, "b"), (100, 2, "a")]
    inverted = history(
        op(1, ["a"], [(100, 2)], invoke=0, complete=0.1), op(2, ["b"], [(100, 1)], invoke=1, complete=1.1, process="p1")
    )
    violations = [v for v in check(inverted, final(node(100, stored))).violations if v.kind == "sequence-order"]
    assert len(violations) == 1 and "op 1 got 2, later op 2 got 1" in violations[0].message
    concurrent = history(
        op(1, ["a"], [(100, 2)], invoke=0, complete=1.0),
        op(2, ["b"], [(100, 1)], invoke=0.5, complete=1.1, process="p1"),
    )
    assert check(concurrent, final(node(100, stored))).ok


def test_vector_clocks_that_differ_or_lie_are_caught() -> None:
    behind = node(200, STORED, clock={100: 2, 200: 1})
    verdict = check(VALID, final(node(100, STORED), behind))
    messages = [v.message for v in verdict.violations if v.kind == "clock-divergence"]
    assert any("disagrees with the latest envelopes" in m for m in messages)
    assert any("vector clocks differ" in m for m in messages)


def test_usage_that_disagrees_across_nodes_or_with_storage_is_caught() -> None:
    overcounted = node(200, STORED, usage={100: 4, 200: 1})
    verdict = check(VALID, final(node(100, STORED), overcounted))
    messages = [v.message for v in verdict.violations if v.kind == "usage-mismatch"]
    assert any("usage 4, stored 3" in m for m in messages)
    assert any("nodes count different usage" in m for m in messages)


def test_staged_envelopes_left_after_heal_are_caught() -> None:
    assert "staged-leftover" in kinds(check(VALID, final(node(100, STORED, staged=2))))


def test_a_failed_or_slow_publish_with_no_fault_is_a_liveness_violation() -> None:
    stalled = history(
        *VALID.operations,
        op(4, ["x"], None, invoke=30, complete=40, outcome="unknown", error="statement timeout"),
        op(5, ["y"], [(100, 4)], invoke=31, complete=38),
    )
    stored = [*STORED, (100, 4, "y")]
    violations = [
        v
        for v in check(stalled, final(node(100, stored)), CheckOptions(slow_seconds=5)).violations
        if v.kind == "liveness"
    ]
    assert len(violations) == 1 and violations[0].node == 100
    assert violations[0].details["operations"] == [4, 5] and violations[0].details["failed"] == 1
    assert "statement timeout" in violations[0].message
    # By default only the failure counts: 7 s is slow, not stuck, on a loaded machine.
    default = [v for v in check(stalled, final(node(100, stored))).violations if v.kind == "liveness"]
    assert default[0].details["operations"] == [4]


def test_failures_during_or_shortly_after_a_fault_on_the_target_are_excused() -> None:
    kill = TimelineEvent(1, "fault", "kill", ("node-100",), {}, T0 + 20, T0 + 28)
    during = op(4, ["x"], None, invoke=25, complete=25.1, outcome="unknown")
    after = op(5, ["y"], None, invoke=40, complete=40.1, outcome="unknown")  # within 20 s grace
    late = op(6, ["z"], None, invoke=55, complete=55.1, outcome="unknown")
    other_target = op(7, ["w"], None, invoke=25, complete=25.1, outcome="unknown", target="node-200")
    verdict = check(
        history(*VALID.operations, during, after, late, other_target, events=(kill,)), final(node(100, STORED))
    )
    flagged = {op_id for v in verdict.violations if v.kind == "liveness" for op_id in v.details["operations"]}
    assert flagged == {6, 7}


def test_a_fault_anywhere_excuses_publishes_through_a_gateway() -> None:
    kill = TimelineEvent(1, "fault", "kill", ("node-200",), {}, T0 + 20, None)
    gateway_op = op(4, ["x"], None, invoke=25, complete=25.1, outcome="unknown", target="gateway-0")
    assert check(history(*VALID.operations, gateway_op, events=(kill,)), final(node(100, STORED))).ok


def test_history_and_state_round_trip_through_json() -> None:
    import json

    hist = history(
        *VALID.operations, events=(TimelineEvent(1, "fault", "latency", ("node-100",), {"ms": 5}, T0, T0 + 1),)
    )
    state = final(node(100, STORED), NodeState(300, False, True, error="gone"))
    hist2 = History.from_dict(json.loads(json.dumps(hist.to_dict())))
    state2 = FinalState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert check(hist2, state2).to_dict() == check(hist, state).to_dict()
    verdict = check(hist, state)
    assert Verdict.from_dict(json.loads(json.dumps(verdict.to_dict()))).to_dict() == verdict.to_dict()
