"""Redis down and back under gateway traffic, on both runtimes: Redis refuses connections while
down, the gateway goes on forwarding group messages (they never touch Redis), and Redis answers
again -- empty -- once healed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_probes import redis_answers
from runtime_params import runtime_params

from integration_environments import integration_config, started_environment
from xmtpd_e2e.api.environment import Environment


@pytest.fixture(params=[p for p in runtime_params() if p in ("local", "docker")])
def with_gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Environment]:
    with started_environment(integration_config(tmp_path, request.param), tmp_path, f"redis-{request.param}") as env:
        env.add_nodes(2)
        env.add_gateway()
        yield env


def test_gateway_traffic_goes_on_while_redis_is_down(with_gateway: Environment) -> None:
    env = with_gateway
    assert redis_answers(env)
    client = env.new_client(via_gateway=0)
    client.publish_envelopes(5)
    fault = env.faults.apply("redis-down")
    try:
        assert not redis_answers(env), "Redis still answers while down"
        client.publish_envelopes(10, batch_size=5)
    finally:
        fault.heal()
    assert redis_answers(env), "Redis does not answer after healing"
    client.publish_envelopes(5)
    env.wait_for_replication(timeout=60)
