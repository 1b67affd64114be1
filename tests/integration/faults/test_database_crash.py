"""Postgres killed with SIGKILL under load and restarted: with the durable profile every
envelope a node acknowledged is still there, on every node, on both runtimes.

A staged envelope left behind by the crash is xmtpd's known defect
(docs/findings/staged-envelope-left-after-database-crash.md): it is reported as a warning here and
fails the ``chaos-database-crash`` scenario of the full suite, so this test stays about durability."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_params import runtime_params

from integration_environments import integration_config, started_environment
from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.services.postgres_server import SERVER_KIND


@pytest.fixture(params=[p for p in runtime_params() if p in ("local", "docker")])
def durable_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Environment]:
    with started_environment(integration_config(tmp_path, request.param), tmp_path, f"dbcrash-{request.param}") as env:
        server = env.use_durable_postgres()
        assert env.run_state.resources(SERVER_KIND), "the server is not in the run record"
        assert server.settings() == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
        env.add_nodes(2)
        yield env
    assert not server.directory.exists(), f"{server.directory} is still there after close"


def test_every_acknowledged_envelope_survives_a_server_crash(durable_env: Environment) -> None:
    env = durable_env
    server = env.durable_postgres
    assert server is not None
    traffic = [
        env.new_client(node.id, publish_timeout=10).generate_traffic(batch_size=5, continue_on_error=True)
        for node in env.nodes()
    ]
    time.sleep(3)
    acknowledged_before = len(env.published)
    fault = env.database_faults.crash_server()
    time.sleep(2)
    fault.heal()
    log = (server.directory / "postgres.log").read_text()
    assert "not properly shut down" in log or "interrupted" in log, "the server restarted without crash recovery"
    time.sleep(5)
    for generator in traffic:
        generator.stop()
    assert acknowledged_before > 0, "nothing was acknowledged before the crash"
    assert len(env.published) > acknowledged_before, "no publish succeeded after the restart"
    env.wait_for_replication(timeout=120)
    violations = env.check_invariants()
    staged = [v for v in violations if "staged" in v]
    if staged:
        # A known xmtpd defect, not durability: the row of a publish whose delete was lost in the
        # crash stays staged (seen in 2 of the first 4 runs). chaos-database-crash (full suite)
        # fails on it; here it is reported, and every other violation still fails the test.
        evidence = [
            line
            for node in env.nodes()
            for line in node.service.logs().splitlines()
            if "failed to delete staged" in line
        ]
        warnings.warn(
            f"{staged}: xmtpd leaves a staged envelope for good when its delete is lost in the crash "
            f"(docs/findings/staged-envelope-left-after-database-crash.md); node logs: {evidence[:3]}",
            stacklevel=1,
        )
    assert not [v for v in violations if v not in staged]


def test_crashing_the_shared_server_is_refused(tmp_path: Path) -> None:
    with started_environment(integration_config(tmp_path, "local"), tmp_path, "dbcrash-refused") as env:
        with pytest.raises(E2EError, match="use_durable_postgres"):
            env.database_faults.crash_server()
