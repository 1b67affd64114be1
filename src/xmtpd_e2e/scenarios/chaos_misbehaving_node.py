"""chaos-misbehaving-node: node 100 serves its peers altered envelopes; what do they keep?

Node 100 is made to misbehave toward its peers, one way after another, through a proxy on its
registered address (the ``bad-signature``, ``equivocate``, ``skip-sequence`` and ``replay-old``
fault kinds): clients publish to node 100 itself, which stores them honestly, and nodes 200 and
300 sync them through the proxy.  Each honest node must hold, for each envelope, nothing or
exactly node 100's own bytes, and no gap it never fills.  Whatever got through is reported with
the finding that explains it (docs/findings/).
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.faults.misbehaving_evidence import exercise, findings_in
from xmtpd_e2e.faults.misbehaving_proxy import BEHAVIOURS
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster

__all__ = ["chaos_misbehaving_node"]


@scenario(
    "chaos-misbehaving-node",
    "node 100 serves peers bad signatures, equivocations, a gap and replays; honest nodes must keep only its own envelopes",
    typical_seconds=150,
    setup=cluster(gateways=0),
)
def chaos_misbehaving_node(env: Environment) -> None:
    env.new_client(100).publish_envelopes(2)
    env.wait_for_replication(timeout=60)
    violations = []
    for behaviour in BEHAVIOURS:
        outcome = exercise(env, behaviour, 100)
        for evidence in outcome.during + outcome.after:
            env.log.info("%s: %s", behaviour, evidence.describe())
        violations += outcome.violations()
    if violations:
        cited = ", ".join(f"docs/findings/{name}.md" for name in findings_in(violations))
        env.require.fail(f"honest nodes kept what node 100 altered ({cited}): " + "; ".join(violations))
