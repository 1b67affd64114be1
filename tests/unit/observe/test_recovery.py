"""Recovery time of a run, on fake nodes: measured from each fault's heal until every running node
holds what was acknowledged by then (and every read node serves it); not recovered by the close
counts the seconds waited; teardown heals and explore's own fault spans are not measured."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from xmtpd_e2e.api.recoveries import RunRecoveries, recovery_record
from xmtpd_e2e.client.ledger import PublishedEnvelope, PublishLedger
from xmtpd_e2e.observe.recovery import Recovery
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.runner.reports import results_schema
from xmtpd_e2e.runner.results import RunResult, ScenarioResult, Status
from xmtpd_e2e.timeline import Timeline


@dataclass
class FakeObserver:
    keys: set[tuple[int, int]] = field(default_factory=set)
    probes: int = 0

    def envelope_keys(self, *, client_only: bool = True) -> set[tuple[int, int]]:
        self.probes += 1
        return set(self.keys)


@dataclass
class FakeNode:
    alias: str
    observer: FakeObserver = field(default_factory=FakeObserver)
    is_running: bool = True


def envelope(originator: int, sequence: int) -> PublishedEnvelope:
    return PublishedEnvelope(originator, sequence, "h", "0xpayer", f"t{sequence}", "client-100", "node", 0, 0, 0, 0)


def setup() -> tuple[Timeline, list[FakeNode], PublishLedger, RunRecoveries]:
    timeline, ledger = Timeline(), PublishLedger()
    nodes = [FakeNode("node-100", FakeObserver({(100, 1), (100, 2)})), FakeNode("node-200")]
    ledger.add([envelope(100, 1), envelope(100, 2)])
    recoveries = RunRecoveries(timeline, lambda: nodes, ledger)  # type: ignore[arg-type,return-value]
    return timeline, nodes, ledger, recoveries


def test_nothing_is_probed_until_a_fault_heals_and_then_until_every_node_has_it() -> None:
    timeline, nodes, _, recoveries = setup()
    fault = timeline.begin("fault", "partition", ("node-200",))
    time.sleep(1.2)
    assert nodes[0].observer.probes == 0 and recoveries.to_list() == []
    timeline.finish(fault)
    time.sleep(1.2)
    assert recoveries.to_list()[0]["recovered"] is False
    nodes[1].observer.keys = {(100, 1), (100, 2)}
    wait_until(lambda: recoveries.to_list()[0]["recovered"], bool, timeout=5, description="the recovery")
    probes = nodes[0].observer.probes
    time.sleep(1.2)
    assert nodes[0].observer.probes == probes, "recovered: no more probes"
    recoveries.stop()
    [record] = recoveries.to_list()
    assert record["kind"] == "partition" and record["target"] == "node-200" and record["acknowledged"] == 2
    assert 1.0 < record["nodes_seconds"] < 5 and record["nodes_converged"] and record["readers_seconds"] is None


def test_not_recovered_by_the_close_counts_the_seconds_waited_and_later_heals_are_not_measured() -> None:
    timeline, _, _, recoveries = setup()
    timeline.finish(timeline.begin("fault", "pause", ("node-200",)))
    timeline.finish(timeline.begin("fault", "partition", ("node-200",), explore=True))  # explore's own record
    time.sleep(0.5)
    recoveries.stop()
    timeline.finish(timeline.begin("fault", "cut", ("node-100",)))  # the teardown's heal
    [record] = recoveries.to_list()
    assert record["kind"] == "pause" and not record["recovered"] and not record["nodes_converged"]
    assert 0.4 <= record["nodes_seconds"] < 2


def test_a_recovery_with_readers_is_only_complete_once_readers_caught_up() -> None:
    unread = Recovery("kill", "node-200", 100.0, 5, replicated_at=103.0, read=True)
    assert not unread.recovered and Recovery("kill", "node-200", 100.0, 5, replicated_at=103.0).recovered
    record = recovery_record(
        Recovery("kill", "node-200", 100.0, 5, replicated_at=103.0, readers_at=104.5, read=True), 200
    )
    assert record["nodes_seconds"] == 3.0 and record["readers_seconds"] == 4.5 and record["recovered"]


def test_recoveries_are_in_the_results_json_and_match_its_schema() -> None:
    records: list[dict[str, Any]] = [
        recovery_record(Recovery("partition", "node-300", 1_795_690_600.0, 12, replicated_at=1_795_690_603.25), 0),
        recovery_record(Recovery("pause", "node-200", 1_795_690_610.0, 14), 1_795_690_640.0),
    ]
    scenario = ScenarioResult("chaos-x", Status.PASS, 40.0, 1_795_690_589.0, recoveries=records)
    document = RunResult("r1", 1_795_690_589.0, 1_795_690_640.0, [scenario]).as_dict()
    jsonschema.validate(document, results_schema())
    saved = document["scenarios"][0]["recoveries"]
    assert saved[0]["nodes_seconds"] == 3.25 and saved[0]["recovered"]
    assert saved[1] == {
        "kind": "pause",
        "target": "node-200",
        "healed_at": 1_795_690_610.0,
        "acknowledged": 14,
        "nodes_seconds": 30.0,
        "nodes_converged": False,
        "readers_seconds": None,
        "recovered": False,
    }
    assert ScenarioResult.from_dict(document["scenarios"][0]).recoveries == records


def test_a_recovery_within_the_last_second_is_seen_by_the_last_look_at_the_close() -> None:
    timeline, nodes, _, recoveries = setup()
    timeline.finish(timeline.begin("fault", "partition", ("node-200",)))
    time.sleep(0.2)  # the first look, right after the heal, found node-200 lacking
    nodes[1].observer.keys = {(100, 1), (100, 2)}
    recoveries.stop()
    [record] = recoveries.to_list()
    assert record["recovered"] and 0.2 <= record["nodes_seconds"] < 1.0, record
