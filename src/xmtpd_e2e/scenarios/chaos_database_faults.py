"""Faults in one node's database: refused, slow, out of disk space.

Each scenario runs traffic into node 100, the node whose database is faulted, and into node 200,
whose database is untouched. Node 200's publishes must never fail. Node 100's may fail while its
database fails it, and it must publish again once healed. Every acknowledged envelope must then
be on every node. Ending a node's sessions (refusal, disk move) makes the next request on a dead
pooled session fail once even after healing (docs/findings/terminated-database-sessions.md).
So node 100's recovery is checked the way a client would check it: publishing again until it
succeeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.faults.controller import Fault
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._publishing import publish_succeeds
from xmtpd_e2e.scenarios._topology import standard_cluster

FAULT_SECONDS = 8.0


def _under_traffic(env: Environment, apply: Callable[[], Fault]) -> None:
    """Traffic into nodes 100 and 200, the fault for FAULT_SECONDS, then the checks above."""
    standard_cluster(env, gateways=0)
    faulted = env.new_client(100, publish_timeout=15).generate_traffic(
        batch_size=5, interval=0.2, continue_on_error=True
    )
    healthy = env.new_client(200).generate_traffic(batch_size=5, interval=0.2, continue_on_error=True)
    env.require.eventually(
        lambda: env.node(100).get_envelope_count(client_only=True),
        accept=lambda n: n > 0,
        timeout=30,
        description="node 100 to store traffic before the fault",
    )
    fault = apply()
    time.sleep(FAULT_SECONDS)
    fault.heal()
    env.require.eventually(
        lambda: publish_succeeds(env.new_client(100, publish_timeout=15)),
        timeout=60,
        description="node 100 to publish again after its database healed",
    )
    faulted.stop()
    healthy.stop()
    errors = [f"{type(error).__name__}: {error}" for error in healthy.errors]
    env.require.length(errors, 0, f"node 200's database was never faulted, yet its publishes failed: {errors[:3]}")
    env.log.info("node 100: %d publish errors while its database was faulted", len(faulted.errors))
    env.wait_for_replication(timeout=120)


@scenario(
    "chaos-database-refused",
    "Node 100's database refuses it for 8 s under traffic (sessions ended, new ones refused); it recovers",
    suites=("layers",),
    typical_seconds=30,
)
def chaos_database_refused(env: Environment) -> None:
    _under_traffic(env, lambda: env.database_faults.refuse_connections(100))


@scenario(
    "chaos-database-slow",
    "Node 100's database path 200 ms slow per response for 8 s under traffic; nothing is lost",
    suites=("layers",),
    typical_seconds=35,
)
def chaos_database_slow(env: Environment) -> None:
    _under_traffic(env, lambda: env.database_faults.slow_path(100, 200))


@scenario(
    "chaos-database-disk-full",
    "Node 100's database out of disk space for 8 s under traffic; node 200 unaffected; it recovers",
    suites=("layers",),
    typical_seconds=35,
)
def chaos_database_disk_full(env: Environment) -> None:
    _under_traffic(env, lambda: env.database_faults.fill_disk(100))
