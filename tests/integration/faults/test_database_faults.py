"""Each database fault is real: seen from outside, in the server's sessions and in what the node
answers, on both runtimes; the other node is untouched and everything is back after healing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from runtime_params import runtime_params

from integration_environments import integration_config, started_environment
from xmtpd_e2e.api.client_handle import ClientHandle
from xmtpd_e2e.api.database_faults import DatabaseFaults
from xmtpd_e2e.faults.kinds.database import database_target
from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.client.errors import PublishError
from xmtpd_e2e.faults.database import backend_pids
from xmtpd_e2e.faults.database_disk import TABLESPACE_KIND
from xmtpd_e2e.polling import wait_until


@pytest.fixture(scope="module", params=[p for p in runtime_params() if p in ("local", "docker")])
def two_nodes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    tmp_path = tmp_path_factory.mktemp(request.param)
    with started_environment(integration_config(tmp_path, request.param), tmp_path, f"dbfaults-{request.param}") as env:
        env.add_nodes(2)
        yield env


DISK_FULL_SIGNS = ("No space left on device", "could not extend file", "could not write init file")


def _sessions(env: Environment, node_id: int) -> set[int]:
    node = env.node(node_id)
    return backend_pids(database_target(node).admin_dsn, node.db_name)


def _node_sessions(env: Environment, node_id: int) -> set[int]:
    """Sessions of the node's own pool: every session on its database but the observer's."""
    node = env.node(node_id)
    node.observer.close()
    return _sessions(env, node_id)


def test_terminated_sessions_are_replaced_and_the_node_serves_on(two_nodes: Environment) -> None:
    env = two_nodes
    before = _node_sessions(env, 100)
    assert before, "node 100 holds no database session to terminate"
    terminated = DatabaseFaults(env).terminate_connections(100)
    assert terminated >= len(before)
    assert not (_node_sessions(env, 100) & before), "a terminated session is still there"
    wait_until(
        lambda: _try_publish(env, 100),
        bool,
        timeout=60,
        description="node 100 to publish again after its sessions were terminated",
    )
    after = wait_until(
        lambda: _node_sessions(env, 100),
        bool,
        timeout=30,
        description="node 100 to open new database sessions",
    )
    assert not (after & before)
    env.wait_for_replication(timeout=60)


def test_a_refusing_database_fails_that_node_only_until_healed(two_nodes: Environment) -> None:
    env = two_nodes
    fault = DatabaseFaults(env).refuse_connections(100)
    try:
        assert not _sessions(env, 100), "node 100 still has database sessions"
        with pytest.raises(PublishError):
            env.new_client(100, publish_timeout=15).publish_envelopes(1)
        assert not _sessions(env, 100), "a session got through the refusal"
        env.new_client(200).publish_envelopes(3)  # the other node's database is untouched
    finally:
        fault.heal()
    wait_until(
        lambda: _try_publish(env, 100),
        bool,
        timeout=60,
        description="node 100 to publish again after its database let it back in",
    )
    env.wait_for_replication(timeout=60)


def test_a_slow_path_delays_every_publish_of_that_node(two_nodes: Environment) -> None:
    env = two_nodes
    latency_ms = 200
    client = env.new_client(100)
    client.publish_envelopes(1)
    fault = DatabaseFaults(env).slow_path(100, latency_ms)
    try:
        # Steering the path ends the node's open sessions, and the first request on a pooled
        # session the server ended fails (docs/findings/terminated-database-sessions.md).
        wait_until(lambda: _try_publish(env, 100), bool, timeout=60, description="node 100 to publish again")
        durations = [_timed_publish(client) for _ in range(3)]
        assert min(durations) >= latency_ms / 1000, f"a publish to node 100 took less than the delay: {durations}"
        other = [_timed_publish(env.new_client(200)) for _ in range(3)]
    finally:
        fault.heal()
    assert min(other) < latency_ms / 1000, f"node 200's publishes were delayed too: {other}"
    after = [_timed_publish(client) for _ in range(3)]
    assert min(after) < latency_ms / 1000, f"node 100's publishes still delayed after healing: {after}"
    env.wait_for_replication(timeout=60)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting the small filesystem needs root")
def test_a_full_disk_fails_that_nodes_writes_until_healed(two_nodes: Environment) -> None:
    env = two_nodes
    fault = DatabaseFaults(env).fill_disk(100)
    try:
        assert env.run_state.resources(TABLESPACE_KIND), "the tablespace is not in the run record"
        # Moving the database ends the node's sessions, and the first request on such a session
        # fails on its own (docs/findings/terminated-database-sessions.md): publish until a
        # failure that is the disk's.
        sign = _disk_full_failure(env, env.new_client(100, publish_timeout=20), attempts=50)
        assert sign is not None, (
            f"node 100 went on writing through 50 batches of 20 with its disk full ({DISK_FULL_SIGNS})"
        )
        env.new_client(200).publish_envelopes(5)  # the other node writes on
    finally:
        fault.heal()
    assert not env.run_state.resources(TABLESPACE_KIND), "the tablespace is still recorded after healing"
    wait_until(
        lambda: _try_publish(env, 100),
        bool,
        timeout=60,
        description="node 100 to publish again once its disk had space",
    )
    env.wait_for_replication(timeout=120)


def _disk_full_failure(env: Environment, client: ClientHandle, *, attempts: int) -> str | None:
    """Publish batches to node 100 until one fails for lack of space; which sign showed it."""
    for _ in range(attempts):
        try:
            client.publish_envelopes(20)
        except PublishError as error:
            seen = str(error) + env.node(100).service.logs()[-20000:]
            sign = next((sign for sign in DISK_FULL_SIGNS if sign in seen), None)
            if sign is not None:
                return sign
    return None


def _try_publish(env: Environment, node_id: int) -> bool:
    try:
        env.new_client(node_id, publish_timeout=15).publish_envelopes(1)
    except PublishError:
        return False
    return True


def _timed_publish(client: ClientHandle) -> float:
    began = time.monotonic()
    client.publish_envelopes(1)
    return time.monotonic() - began
