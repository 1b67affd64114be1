"""sustained-load: two originators under continuous load while reports settle.

Upstream runs 30 minutes of traffic and then waits up to 75 more for a settlement.  Here the
load runs until the first originator's report settles (its id is aligned with the report
schedule), with concurrent publishers, and the achieved rate is logged.  Nothing may fail and
every envelope must reach every node (checked by the global invariants).
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import report_cluster


@scenario(
    "sustained-load",
    "Continuous load on two nodes until a payer report settles; no errors, full replication",
    typical_seconds=800,
    timeout_seconds=2400,
)
def sustained_load(env: Environment) -> None:
    originator, nodes, _ = report_cluster(env)
    generators = [
        env.new_client(node.id).generate_traffic(batch_size=10, concurrency=2, interval=0.5) for node in nodes[:2]
    ]
    originator.wait_for_payer_reports(lambda c: c.settled >= 1, "a report is settled under load", timeout=1800)
    for generator in generators:
        generator.stop()
        env.require.no_error(generator.error, "sustained traffic must not fail")
        env.log.info("%s: %d envelopes at %.1f/s", generator.name, generator.published_count, generator.rate())
    for node in nodes:
        env.require.greater(node.get_envelope_count(client_only=True), 0)
