"""Schedules: same seed, same plan; JSON round trip; the generator's promises; reductions."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from xmtpd_e2e.explore.readers import READER_KINDS
from xmtpd_e2e.explore.schedule import QUIET_TAIL, GenerationOptions, Schedule, generate


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    options = GenerationOptions(duration=60)
    assert generate(7, options) == generate(7, options)
    assert any(generate(s, options) != generate(7, options) for s in (8, 9, 10))


def test_a_schedule_round_trips_through_json() -> None:
    for seed in range(20):
        schedule = generate(seed, GenerationOptions(duration=45, gateways=1))
        assert Schedule.from_dict(json.loads(json.dumps(schedule.to_dict()))) == schedule


def test_faults_leave_a_quiet_tail_and_never_overlap_on_one_target() -> None:
    for seed in range(50):
        schedule = generate(seed, GenerationOptions(duration=60, faults_per_minute=6))
        for fault in schedule.faults:
            assert 0 < fault.start and fault.end <= 60 * (1 - QUIET_TAIL) + 1e-6
        for a in schedule.faults:
            for b in schedule.faults:
                if a is not b and a.target == b.target:
                    assert a.end <= b.start or b.end <= a.start


def test_fault_kinds_can_be_restricted_or_switched_off() -> None:
    only = generate(3, GenerationOptions(duration=60, fault_kinds=("latency",), faults_per_minute=6))
    assert only.faults and {f.kind for f in only.faults} == {"latency"}
    assert generate(3, GenerationOptions(duration=60, faults_per_minute=0)).faults == ()
    with pytest.raises(ValueError, match="unknown fault kind 'flood'"):
        generate(3, GenerationOptions(fault_kinds=("flood",)))


def test_the_per_node_cap_bounds_publishers_into_each_node() -> None:
    for seed in range(50):
        schedule = generate(
            seed, GenerationOptions(duration=30, gateways=1, max_publishers=10, max_publishers_per_node=2)
        )
        via_gateway = sum(p.via_gateway for p in schedule.publishers)
        for alias in schedule.cluster.aliases:
            direct = sum(p.target == alias for p in schedule.publishers)
            assert direct + via_gateway <= 2


def test_without_a_cap_several_publishers_meet_on_one_node_for_some_seed() -> None:
    crowded = [
        s
        for s in range(30)
        if max(
            sum(p.target == a for p in generate(s, GenerationOptions()).publishers)
            for a in generate(s, GenerationOptions()).cluster.aliases
        )
        >= 4
    ]
    assert crowded


def test_node_overrides_land_on_the_named_node_and_grow_the_cluster_if_needed() -> None:
    schedule = generate(1, GenerationOptions(nodes=2, node_env={"node-300": {"XMTPD_SYNC_ENABLE": "false"}}))
    assert [dict(n.env) for n in schedule.cluster.nodes] == [{}, {}, {"XMTPD_SYNC_ENABLE": "false"}]


def test_dropping_a_node_renames_the_later_ones_everywhere() -> None:
    schedule = Schedule.from_dict(
        {
            "seed": 1,
            "duration": 30,
            "payers": 1,
            "cluster": {"nodes": [{"env": {}}, {"env": {}}, {"env": {"XMTPD_SYNC_ENABLE": "false"}}], "gateways": 0},
            "publishers": [
                {"name": "p0", "target": "node-100", "payer": 0, "batch_size": 5, "windows": [[0, 30, 0]]},
                {"name": "p1", "target": "node-200", "payer": 0, "batch_size": 5, "windows": [[0, 30, 0]]},
                {"name": "p2", "target": "node-300", "payer": 0, "batch_size": 5, "windows": [[0, 30, 0]]},
            ],
            "faults": [{"kind": "kill", "target": "node-300", "start": 5, "duration": 3, "params": {}}],
        }
    )
    smaller = schedule.without_node(1)
    assert [dict(n.env) for n in smaller.cluster.nodes] == [{}, {"XMTPD_SYNC_ENABLE": "false"}]
    assert [p.target for p in smaller.publishers] == ["node-100", "node-200"]
    assert [f.target for f in smaller.faults] == ["node-200"]
    assert smaller.size() < schedule.size()


def test_truncating_cuts_windows_and_faults_at_the_new_end() -> None:
    schedule = generate(3, GenerationOptions(duration=60, faults_per_minute=6))
    short = schedule.truncated(20)
    assert short.duration == 20
    assert all(w.end <= 20 for p in short.publishers for w in p.windows)
    assert all(f.start < 20 and f.end <= 20 for f in short.faults)


def test_describe_names_every_publisher_and_fault() -> None:
    schedule = generate(3, GenerationOptions(duration=40, nodes=3))
    text = "\n".join(schedule.describe())
    assert all(p.name in text for p in schedule.publishers)
    assert text.count("fault ") == len(schedule.faults)


def test_readers_are_drawn_apart_so_the_rest_of_a_seeds_plan_is_unchanged() -> None:
    with_readers = generate(21, GenerationOptions(duration=60))
    without = generate(21, GenerationOptions(duration=60, readers=0))
    assert with_readers.readers and not without.readers
    assert replace(with_readers, readers=()) == without
    assert Schedule.from_dict(with_readers.to_dict()) == with_readers
    assert {r.kind for s in range(30) for r in generate(s, GenerationOptions()).readers} == set(READER_KINDS)


def test_dropping_a_reader_or_its_node_makes_a_smaller_plan() -> None:
    schedule = generate(4, GenerationOptions(duration=60, nodes=3, readers=3))
    assert schedule.without_reader(0).size() < schedule.size()
    target = schedule.readers[0].target
    index = schedule.cluster.aliases.index(target)
    assert all(r.target in schedule.without_node(index).cluster.aliases for r in schedule.without_node(index).readers)


def test_a_topic_reader_takes_the_first_topic_of_each_originator() -> None:
    from xmtpd_e2e.explore.readers import _spread

    acknowledged = [("a", 100), ("b", 100), ("c", 100), ("d", 200), ("e", 100), ("f", 300)]
    assert _spread(acknowledged, []) == ["a", "d", "f"]
    assert _spread(acknowledged[:2], []) == ["a"]
    assert _spread(acknowledged, ["a"]) == ["a", "d", "f"]
