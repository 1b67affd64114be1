"""A partition outlives a restart of the node it isolates, with no window, on every runtime.

The issue this guards: on docker a restarted container got a new network namespace without the
partition's rules, and node 300, partitioned, killed and started again, took in 3 of node 100's
envelopes before the rules were re-applied; on kubernetes a restarted pod is a new pod with a new
namespace.  Here node 300 is partitioned, killed, and restarted while still partitioned; by
envelope identity read from the nodes' databases it receives nothing published into node 100
until the partition is healed, and the fault has no gap.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration_environments import integration_config, started_environment
from runtime_params import runtime_params
from xmtpd_e2e.api.environment import Environment

LEAK_WINDOW_S = 8
"""How long node 300 runs partitioned after its restart, for anything to leak in."""


@pytest.fixture(params=runtime_params())
def three_nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Environment]:
    with started_environment(integration_config(tmp_path, request.param), tmp_path, f"restart-{request.param}") as env:
        env.add_nodes(3)
        yield env


def _keys(env: Environment, node_id: int, count: int) -> set[tuple[int, int]]:
    return {(e.originator_node_id, e.sequence_id) for e in env.new_client(node_id).publish_envelopes(count)}


def test_a_restarted_node_meets_its_partition_from_its_first_packet(three_nodes: Environment) -> None:
    env = three_nodes
    node_200, node_300 = env.node(200), env.node(300)
    _keys(env, 100, 3)
    env.wait_for_replication()
    partition = env.partition({300})
    try:
        node_300.stop(kill=True)
        outside = _keys(env, 100, 10)  # published while node 300 is down
        node_300.start()
        outside |= _keys(env, 100, 10)  # and while it is up again, still partitioned
        node_200.wait_for_envelope_keys(outside, timeout=60)
        time.sleep(LEAK_WINDOW_S)
        leaked = outside - node_300.missing_envelopes(outside)
        assert not leaked, (
            f"node 300 received {len(leaked)} of node 100's envelopes while partitioned: {sorted(leaked)[:5]}"
        )
        assert partition.gaps == [], f"the partition was not in force after the restart: {partition.gaps}"
    finally:
        partition.heal()
    node_300.wait_for_envelope_keys(outside, timeout=120)
