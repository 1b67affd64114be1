"""chaos-database-crash: Postgres SIGKILLed mid-write and restarted loses no acknowledged envelope.

The environment runs its own Postgres server in the durable profile (``fsync``,
``synchronous_commit`` and ``full_page_writes`` on; ``env.use_durable_postgres()``). The shared
server runs with them off, for speed. There a crash can lose commits that were already
acknowledged, and killing it would hit every other run on the machine. Three nodes take traffic.
The server and every backend are SIGKILLed at once while publishes are in flight, stay down for a
few seconds, then restart through crash recovery. Every envelope any node acknowledged must then
be on every node. Publishes that failed were never acknowledged, so nothing is owed for them.
"""

from __future__ import annotations

import functools
import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._publishing import publish_succeeds

DOWN_SECONDS = 3.0


@scenario(
    "chaos-database-crash",
    "Postgres (durable profile, the environment's own) SIGKILLed under traffic and restarted: no acknowledged envelope lost",
    typical_seconds=40,
)
def chaos_database_crash(env: Environment) -> None:
    server = env.use_durable_postgres()
    env.require.equal(
        server.settings(),
        {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"},
        "the environment's server runs the durable profile",
    )
    nodes = env.add_nodes(3)
    traffic = [
        env.new_client(node.id, publish_timeout=15).generate_traffic(batch_size=5, interval=0.1, continue_on_error=True)
        for node in nodes
    ]
    env.require.eventually(
        lambda: len(env.published),
        accept=lambda n: n >= 30,
        timeout=60,
        description="30 envelopes acknowledged before the crash",
    )
    fault = env.database_faults.crash_server()
    env.log.info("killed Postgres processes %s with %d envelopes acknowledged", server.killed, len(env.published))
    time.sleep(DOWN_SECONDS)
    fault.heal()
    for node in nodes:
        client = env.new_client(node.id, publish_timeout=15)
        env.require.eventually(
            functools.partial(publish_succeeds, client),
            timeout=60,
            description=f"node {node.id} to publish again after Postgres restarted",
        )
    for generator in traffic:
        generator.stop()
    env.wait_for_replication(timeout=120)
    for node in nodes:
        staged = node.observer.staged_envelope_count()
        if staged:
            env.require.eventually(
                node.observer.staged_envelope_count,
                accept=lambda n: n == 0,
                timeout=30,
                description=(
                    f"node {node.id}'s {staged} staged envelope(s) to be published and removed (xmtpd leaves one "
                    "for good when its delete is lost in the crash: "
                    "docs/findings/staged-envelope-left-after-database-crash.md)"
                ),
            )
