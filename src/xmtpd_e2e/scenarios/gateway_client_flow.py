"""gateway-client-flow: the production path, client -> gateway -> node.

Clients send unsigned client envelopes to a gateway; the gateway, holding the payer key, signs
the payer envelopes and picks the node.  So the nodes must charge the *gateways*, never the
clients.  Chaos on the client-to-gateway path: latency slows but does not fail publishing; a
stopped gateway fails with a clear error, and publishing succeeds again once it is back.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.client.errors import PublishError
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "gateway-client-flow",
    "Clients publish through 2 gateways to 3 nodes; usage is charged to the gateways; gateway chaos",
    suites=("fast",),
    typical_seconds=10,
    setup=cluster(gateways=2),
)
def gateway_client_flow(env: Environment) -> None:
    nodes, gateways = env.nodes(), env.gateways()
    via_0 = env.new_client(via_gateway=0)
    via_1 = env.new_client(via_gateway=1)
    via_0.publish_envelopes(10)
    via_1.publish_envelopes(10)
    env.wait_for_replication()

    gateway_payers = {g.address.lower() for g in gateways}
    client_addresses = {via_0.key.address.lower(), via_1.key.address.lower()}
    for node in nodes:
        charged = {u.address.lower(): u.message_count for u in node.get_unsettled_usage()}
        env.require.equal(
            sum(charged.get(a, 0) for a in gateway_payers),
            20,
            f"{node.alias}: all 20 messages are charged to the gateways' payer addresses",
        )
        env.require.equal(
            sum(charged.get(a, 0) for a in client_addresses), 0, f"{node.alias}: nothing is charged to the clients"
        )

    gateways[0].add_latency(300)
    via_0.publish_envelopes(5)
    gateways[0].remove_all_toxics()

    gateways[1].stop()
    try:
        via_1.publish_envelopes(1)
    except PublishError as error:
        env.require.contains(str(error), gateways[1].alias, "the error names the unreachable gateway")
    else:
        env.require.fail("publishing through a stopped gateway must fail")
    gateways[1].start()
    env.require.eventually(
        lambda: bool(via_1.publish_envelopes(1)),
        timeout=60,
        description="publishing through gateway-1 again after it restarted",
        swallow=(PublishError,),
    )
    env.wait_for_replication()
