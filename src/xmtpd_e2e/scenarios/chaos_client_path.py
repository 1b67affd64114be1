"""chaos-client-path: faults between the publishing clients and the node or gateway they use.

The framework's clients run on the host; a cut of the client path drops their packets inside
the target's namespace (by the host's address and the API port), so peers and the gateway still
reach the node.  While node 100 is cut off from clients, a publish to it fails with a timeout,
publishing elsewhere keeps working, and after healing the client's retry succeeds.  Then 15 %
of the packets between clients and the gateway are dropped: publishing through it is slower and
still succeeds.  No acknowledged envelope may be lost.

Why 15 % and not more: the loss applies to each direction, so a TCP segment is answered only if
it and its acknowledgement both get through (72 % here, 49 % at 30 %), and TCP doubles its
retransmission timer after every miss.  At 30 % about one segment in 400 misses nine times in a
row, which is a silence of over a minute; a run publishing a few dozen segments then fails on
TCP's arithmetic, not on anything xmtpd does (seen once in CI: a gateway publish timed out after
60 s).  At 15 % that is about one in 100,000.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.client.errors import PublishError
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._publishing import publish_succeeds
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "chaos-client-path",
    "Cut the clients' path to node 100 (publishes time out, others unaffected), heal and retry; 15% loss to the gateway",
    suites=("fast",),
    typical_seconds=16,
    setup=cluster(),
)
def chaos_client_path(env: Environment) -> None:
    client = env.new_client(100, publish_timeout=3)
    client.publish_envelopes(5)

    cut = env.cut("clients", 100)
    try:
        client.publish_envelopes(5)
    except PublishError as error:
        env.require.true(error.unreachable, f"a cut client path looks unreachable, got {error}")
    else:
        raise AssertionError("publishing across a cut client path must fail")
    env.new_client(200).publish_envelopes(5)
    env.new_client(via_gateway=0).publish_envelopes(5)  # the gateway reaches node 100 through its proxy
    cut.heal()
    env.require.eventually(lambda: publish_succeeds(client), timeout=60, description="the client's retry after healing")

    loss = env.faults.add_packet_loss(15, ("clients", "gateway-0"))
    gateway_client = env.new_client(via_gateway=0)
    for _ in range(4):
        gateway_client.publish_envelopes(5)
    loss.heal()
    env.wait_for_replication(timeout=120)
