"""The page's model and HTML from a results dict: who fell behind during which fault, offline page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from xmtpd_e2e.report import render_html
from xmtpd_e2e.report.model import load_run

T = 1_795_690_589.0


def results(**scenario: Any) -> dict[str, Any]:
    base = {
        "name": "chaos-x",
        "status": "FAIL",
        "duration_seconds": 30.0,
        "started_at": "2026-11-26T10:56:29.000Z",
        "error": "replication did not converge",
        "traceback": None,
        "invariant_violations": [],
        "teardown_error": None,
        "environment": {"runtime": "local"},
        "artifacts": [],
        "log_file": None,
        "typical_seconds": 20.0,
        "timeline": [
            {"id": 1, "kind": "phase", "name": "scenario", "targets": [], "params": {}, "start": T, "end": T + 30},
            {
                "id": 2,
                "kind": "fault",
                "name": "disconnect",
                "targets": ["node-300"],
                "params": {},
                "start": T + 5,
                "end": T + 15,
            },
            {
                "id": 3,
                "kind": "service",
                "name": "kill",
                "targets": ["node-200"],
                "params": {},
                "start": T + 20,
                "end": T + 20,
            },
            {
                "id": 4,
                "kind": "service",
                "name": "start",
                "targets": ["node-200"],
                "params": {},
                "start": T + 22,
                "end": T + 23,
            },
            {
                "id": 5,
                "kind": "progress",
                "name": "replication to converge",
                "targets": [],
                "params": {"since": T + 15, "outcome": "timeout", "detail": "node 300 is missing 240"},
                "start": T + 25,
                "end": T + 30,
            },
        ],
        "observations": {
            "samples": {
                "interval_seconds": 1.0,
                "nodes": {
                    "node-100": [[T + i, 10 * i, 0] for i in range(30)],
                    "node-300": [[T + i, 10 * min(i, 5), max(0, 10 * (i - 5))] for i in range(30)],
                    "node-200": [[T + i, 10 * i, 3 if i == 8 else 0] for i in range(30)],
                },
            },
            "publishing": {
                "bucket_seconds": 1.0,
                "start": T,
                "published": [10] * 30,
                "failed": [0] * 6 + [2] + [0] * 23,
                "failures": [
                    {
                        "client_name": "c",
                        "target": "node-300",
                        "envelopes": 10,
                        "error": "node-300 is unreachable: UNAVAILABLE",
                        "failed_at": T + 6,
                    }
                ],
                "failed_total": 2,
            },
        },
        "service_logs": {
            "node-300": "2026-11-26T10:56:35.000Z\tERROR\tsync\tlost peer </script><b>x</b>\n",
            "scenario": "",
        },
    }
    base.update(scenario)
    return {
        "schema_version": 1,
        "run_id": "r1",
        "started_at": "2026-11-26T10:56:29.000Z",
        "finished_at": "2026-11-26T10:57:00.000Z",
        "duration_seconds": 31,
        "summary": {"total": 1, "FAIL": 1},
        "scenarios": [base],
    }


def test_the_lagging_node_is_named_with_the_fault_it_lagged_in_and_skew_is_not() -> None:
    view = load_run(results()).scenarios[0]
    behind = view.fell_behind()
    assert [f.alias for f in behind] == ["node-300"]
    assert behind[0].max_lag == 240 and not behind[0].caught_up
    assert behind[0].faults == ("disconnect node-300",)
    assert behind[0].overlapping == ("node-200 killed",)  # began later, while it was behind
    assert behind[0].sentence(str).startswith("node-300 fell behind by up to 240 envelopes at ")


def test_page_is_self_contained_and_escapes_logs(tmp_path: Path) -> None:
    path = render_html(results(), tmp_path / "report.html")
    text = path.read_text()
    assert 'class="fault-window"' in text and "<svg" in text
    assert "node-300 fell behind by up to 240 envelopes" in text
    assert "typical 20.0 s" in text
    assert "waiting for replication to converge — node 300 is missing 240" in text  # a long wait, drawn from its start
    assert "</script><b>" not in text  # a log line cannot break out of its data block
    # nothing is fetched: no external scripts, styles, images or fonts
    assert not re.search(r'(src|href)="(https?:)?//', text)
    assert "@import" not in text and "url(" not in text


def test_a_passing_scenario_without_kept_logs_says_why(tmp_path: Path) -> None:
    data = results(status="PASS", error=None, service_logs={})
    text = render_html(data, tmp_path / "r.html").read_text()
    assert "not kept: the scenario passed" in text


def test_ordinary_replication_delay_under_fast_traffic_is_not_falling_behind() -> None:
    # 25 envelopes a second; node-200 trails by a second of traffic all along (ordinary delay)
    # and by far more only while node-100 is cut off from it (seconds 5 to 15).
    def lag_200(i: int) -> int:
        return 25 + (25 * (i - 5) if 5 <= i <= 15 else 0)

    samples = {
        "interval_seconds": 1.0,
        "nodes": {
            "node-100": [[T + i, 25 * i, 0] for i in range(30)],
            "node-200": [[T + i, 25 * i - lag_200(i), lag_200(i)] for i in range(30)],
        },
    }
    faults = [e for e in results()["scenarios"][0]["timeline"] if e["kind"] == "fault"]
    faults[0]["targets"] = ["node-100"]
    data = results(timeline=faults, observations={"samples": samples, "publishing": {}})
    behind = load_run(data).scenarios[0].fell_behind()
    assert [f.alias for f in behind] == ["node-200"]
    assert behind[0].faults == ("disconnect node-100",) and behind[0].caught_up
    assert behind[0].first >= T + 5  # not from the start, when it trailed only by ordinary delay


def _partition_with_gap() -> dict[str, Any]:
    return {
        "id": 9,
        "kind": "fault",
        "name": "partition",
        "targets": ["node-100", "node-200", "node-300"],
        "params": {
            "groups": [["node-300"], ["node-100", "node-200"]],
            "label": "{node-300} | {node-100, node-200}",
            "gaps": [[T + 8, T + 9.5]],
        },
        "start": T + 5,
        "end": T + 15,
    }


def test_a_partition_is_labelled_with_its_groups_and_its_gap_is_a_break_in_its_bar(tmp_path: Path) -> None:
    data = results(timeline=[*results()["scenarios"][0]["timeline"], _partition_with_gap()])
    view = load_run(data).scenarios[0]
    [partition] = [f for f in view.faults() if f.name == "partition"]
    assert view.fault_label(partition) == "partition {node-300} | {node-100, node-200}"
    assert view.in_force(partition) == [(T + 5, T + 8), (T + 9.5, T + 15)]
    text = render_html(data, tmp_path / "r.html").read_text()
    assert "partition {node-300} | {node-100, node-200}" in text
    assert text.count('data-fault="partition {node-300} | {node-100, node-200}"') == 2, "two in-force stretches"
    assert 'class="fault-gap"' in text and "NOT in force" in text


def test_an_open_gap_lasts_until_the_fault_ends() -> None:
    event = _partition_with_gap()
    event["params"]["gaps"] = [[T + 12, None]]
    view = load_run(results(timeline=[event])).scenarios[0]
    assert view.in_force(view.faults()[0]) == [(T + 5, T + 12)]


def test_without_samples_the_page_says_so_instead_of_every_node_kept_up(tmp_path: Path) -> None:
    samples = {"interval_seconds": 1.0, "nodes": {"node-100": [[T, 0, 0]], "node-200": []}}
    data = results(observations={"samples": samples, "publishing": {}})
    text = render_html(data, tmp_path / "r.html").read_text()
    assert "every node kept up" not in text
    assert "no samples" in text


def test_a_fault_explore_planned_is_shown_once_by_its_own_span() -> None:
    planned = {**_partition_with_gap(), "id": 10, "targets": ["node-300"], "params": {"explore": True}}
    unapplied = {**planned, "id": 11, "name": "pause", "params": {"explore": True, "error": "refused"}}
    view = load_run(results(timeline=[planned, _partition_with_gap(), unapplied])).scenarios[0]
    assert [(f.id, f.name) for f in view.faults()] == [(9, "partition"), (11, "pause")]


RECOVERIES = [
    {
        "kind": "disconnect",
        "target": "node-300",
        "healed_at": T + 15,
        "acknowledged": 240,
        "nodes_seconds": 4.5,
        "nodes_converged": True,
        "readers_seconds": 6.0,
        "recovered": True,
    },
    {
        "kind": "pause",
        "target": "node-200",
        "healed_at": T + 24,
        "acknowledged": 300,
        "nodes_seconds": 6.0,
        "nodes_converged": False,
        "readers_seconds": None,
        "recovered": False,
    },
]


def test_each_recovery_is_a_bar_from_its_heal_titled_with_its_seconds_and_a_row_of_a_table(tmp_path: Path) -> None:
    data = results(recoveries=RECOVERIES)
    view = load_run(data).scenarios[0]
    assert [(r.kind, r.until, r.recovered) for r in view.recoveries] == [
        ("disconnect", T + 19.5, True),
        ("pause", T + 30, False),
    ]
    text = render_html(data, tmp_path / "r.html").read_text()
    assert text.count('class="recovery"') == 2
    assert (
        "4.5 s after disconnect on node-300 healed, every node held the 240 acknowledged envelopes; readers caught up after 6.0 s"
        in text
    )
    assert (
        "not recovered 6.0 s after pause on node-200 healed (the end): not every node held the 300 acknowledged envelopes"
        in text
    )
    table = text[text.index('<table class="recoveries">') :]
    assert (
        "<td>4.5 s</td><td>6.0 s</td><td>yes</td>" in table
        and "6.0 s (not by the end)</td><td>–</td><td>no</td>" in table
    )


def test_a_malformed_recovery_is_left_out_and_a_scenario_without_any_has_no_table(tmp_path: Path) -> None:
    view = load_run(results(recoveries=[{"kind": "pause"}, RECOVERIES[0]])).scenarios[0]
    assert [r.kind for r in view.recoveries] == ["disconnect"]
    assert 'class="recoveries"' not in render_html(results(), tmp_path / "r.html").read_text()
