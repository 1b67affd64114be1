"""Membership faults are real, seen in what the other node stores, on both runtimes: a node out
of the canonical network is not synced from, nor one whose registered address leads nowhere, and
both are synced from again once healed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from membership_probes import replicates_within
from runtime_params import runtime_params

from integration_environments import integration_config, started_environment
from xmtpd_e2e.api.environment import Environment


@pytest.fixture(scope="module", params=[p for p in runtime_params() if p in ("local", "docker")])
def two_nodes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    tmp_path = tmp_path_factory.mktemp(request.param)
    with started_environment(integration_config(tmp_path, request.param), tmp_path, f"member-{request.param}") as env:
        env.add_nodes(2)
        yield env


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            "node-removed",
            marks=pytest.mark.xfail(
                strict=True,
                reason="xmtpd v1.2.0: running nodes ignore a removal from the canonical network "
                "(docs/findings/removed-node-still-synced.md); strict, so a fixed xmtpd turns this red",
            ),
        ),
        "node-address-changed",
    ],
)
def test_a_node_out_of_reach_in_the_registry_is_not_synced_from_until_healed(two_nodes: Environment, name: str) -> None:
    env = two_nodes
    assert replicates_within(env, 200, 100, 30)
    fault = env.faults.apply(name, on=200)
    try:
        assert not replicates_within(env, 200, 100, 10), f"node 100 still syncs from node 200 under {name}" + (
            ": xmtpd's running nodes ignore a removal from the canonical network "
            "(docs/findings/removed-node-still-synced.md)"
            if name == "node-removed"
            else ""
        )
    finally:
        fault.heal()
    assert replicates_within(env, 200, 100, 60), f"node 100 does not sync from node 200 after {name} healed"
    env.wait_for_replication(timeout=60)
