"""Users in explore's plan: opt-in, drawn from the seed, round-tripped, shrunk consistently."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from xmtpd_e2e.explore.checker import Verdict, Violation
from xmtpd_e2e.explore.execute import Exploration
from xmtpd_e2e.explore.replay import load_schedule, record_of, write_record
from xmtpd_e2e.explore.scenario_module import scenario_source
from xmtpd_e2e.explore.schedule import ClusterSpec, GenerationOptions, NodeSpec, Schedule, generate
from xmtpd_e2e.explore.shrink import candidates, shrink
from xmtpd_e2e.explore.user_plan import USER_NODE_ENV

OPTIONS = GenerationOptions(duration=40, users=3)


def test_without_users_a_plan_names_none_and_serialises_as_before() -> None:
    for seed in range(20):
        schedule = generate(seed, GenerationOptions(duration=40))
        assert schedule.users == () and schedule.user_sends == ()
        assert not {"users", "user_sends"} & set(schedule.to_dict())


def test_the_same_seed_draws_the_same_users_and_sends_and_another_seed_others() -> None:
    assert generate(7, OPTIONS) == generate(7, OPTIONS)
    assert any(generate(s, OPTIONS).user_sends != generate(7, OPTIONS).user_sends for s in (8, 9, 10))
    schedule = generate(7, OPTIONS)
    assert [u.name for u in schedule.users] == ["u0", "u1", "u2"]
    assert len({u.node for u in schedule.users}) == min(3, len(schedule.cluster.nodes))
    assert {s.user for s in schedule.user_sends} == {"u0", "u1", "u2"}
    assert all(0 <= s.at < 40 for s in schedule.user_sends)
    assert [s.at for s in schedule.user_sends] == sorted(s.at for s in schedule.user_sends)
    assert len({s.text for s in schedule.user_sends}) == len(schedule.user_sends)


def test_users_leave_the_rest_of_the_seeds_plan_as_it_was_and_add_what_they_need() -> None:
    for seed in range(30):
        without = generate(seed, GenerationOptions(duration=40))
        with_users = generate(seed, OPTIONS)
        assert with_users.cluster.gateways == max(1, without.cluster.gateways)
        assert all(dict(n.env) == dict(USER_NODE_ENV) for n in with_users.cluster.nodes)
        same = replace(with_users, users=(), user_sends=(), cluster=without.cluster)
        assert same == without


def test_a_node_setting_the_user_gave_wins_over_the_users_default() -> None:
    mine = {"node-200": {"XMTPD_API_ORIGINATOR_CACHE_TTL": "5m"}}
    schedule = generate(1, GenerationOptions(duration=20, nodes=2, users=2, node_env=mine))
    assert [dict(n.env)["XMTPD_API_ORIGINATOR_CACHE_TTL"] for n in schedule.cluster.nodes] == ["100ms", "5m"]


def test_one_user_makes_no_group() -> None:
    with pytest.raises(ValueError, match="at least 2 users"):
        generate(1, GenerationOptions(users=1))


def test_a_plan_with_users_round_trips_through_a_record(tmp_path: Path) -> None:
    schedule = generate(11, OPTIONS)
    assert Schedule.from_dict(json.loads(json.dumps(schedule.to_dict()))) == schedule
    record = record_of(Exploration(schedule, "PASS", verdict=Verdict([], {})), command="x", settings={})
    replayed, _ = load_schedule(write_record(tmp_path / "explore-11.json", record))
    assert replayed == schedule
    with pytest.raises(ValueError, match="u9"):
        Schedule.from_dict({**schedule.to_dict(), "user_sends": [{"user": "u9", "at": 1, "text": "x"}]})
    assert 'requires=("mls-validation", "xmtp-users")' in scenario_source(schedule, Verdict([], {}), command="x")


def test_reductions_keep_users_and_their_sends_consistent() -> None:
    schedule = generate(5, GenerationOptions(duration=40, nodes=3, users=3))
    for _, candidate in candidates(schedule):
        assert candidate.size() < schedule.size()
        names = {u.name for u in candidate.users}
        assert {s.user for s in candidate.user_sends} <= names
        assert all(u.node in candidate.cluster.aliases for u in candidate.users)
        assert len(candidate.users) != 1 and (not candidate.users or candidate.cluster.gateways >= 1)
    short = schedule.truncated(10)
    assert short.user_sends and all(s.at < 10 for s in short.user_sends)
    assert schedule.without_gateways().users == () and schedule.without_gateways().user_sends == ()


def test_dropping_a_users_node_drops_the_user_and_renames_the_others() -> None:
    cluster = ClusterSpec((NodeSpec(), NodeSpec(), NodeSpec()), 1)
    schedule = replace(generate(2, GenerationOptions(duration=20, nodes=3, users=3)), cluster=cluster)
    on_200 = next(u for u in schedule.users if u.node == "node-200")
    smaller = schedule.without_node(1)
    assert on_200 not in smaller.users and len(smaller.users) == 2
    assert {u.node for u in smaller.users} == {"node-100", "node-200"}
    assert on_200.name not in {s.user for s in smaller.user_sends}
    assert smaller.without_node(0).users == ()  # one user left: no group


def test_shrinking_can_drop_sends_a_failure_does_not_need() -> None:
    schedule = replace(generate(3, GenerationOptions(duration=30, users=2)), faults=())
    culprit = schedule.user_sends[-1].text

    def run(candidate: Schedule) -> Exploration:
        failing = culprit in {s.text for s in candidate.user_sends}
        violations = [Violation("user-lost", culprit)] if failing else []
        return Exploration(candidate, "FAIL" if failing else "PASS", verdict=Verdict(violations, {}))

    result = shrink(run(schedule), run, budget=200)
    assert [s.text for s in result.schedule.user_sends] == [culprit]
    assert len(result.schedule.users) == 2


def test_a_record_keeps_the_users_with_the_workload() -> None:
    schedule = generate(11, OPTIONS)
    record = record_of(Exploration(schedule, "PASS", verdict=Verdict([], {})), command="x", settings={})
    assert {"users", "user_sends"} <= set(record["workload"]) and "users" not in record["schedule"]
    plain = generate(11, GenerationOptions(duration=40))
    assert set(record_of(Exploration(plain, "PASS"), command="x", settings={})["workload"]) == {"payers", "publishers"}
