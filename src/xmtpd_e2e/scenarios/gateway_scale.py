"""gateway-scale: gateways join and leave while clients publish through them.

Upstream adds and removes gateways while its client publishes straight to node 100, so no
gateway ever carries a message.  Here each gateway carries traffic while it is up.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "gateway-scale",
    "Add gateways 1 and 2, publish through each, stop them, keep publishing through gateway 0",
    suites=("fast",),
    typical_seconds=9,
    setup=cluster(),
)
def gateway_scale(env: Environment) -> None:
    env.new_client(via_gateway=0).publish_envelopes(10)
    added = [env.add_gateway(), env.add_gateway()]
    for gateway in added:
        env.new_client(via_gateway=gateway.index).publish_envelopes(10)
    for gateway in added:
        gateway.stop()
    env.client("client-gateway-0").publish_envelopes(10)
    env.require.equal(len(env.published), 40)
    env.wait_for_replication(timeout=90)
