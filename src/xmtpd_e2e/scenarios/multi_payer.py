"""multi-payer: two payers on one node are charged separately, message for message.

Upstream only checks that both payers appear with at least one message; here node 100's
unsettled usage must attribute exactly 10 messages and a positive spend to each payer.
"""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "multi-payer",
    "Two payers publish 10 envelopes each through node 100; usage is attributed to each exactly",
    suites=("fast",),
    typical_seconds=8,
    setup=cluster(),
)
def multi_payer(env: Environment) -> None:
    payer_a, payer_b = env.new_payer_key(), env.new_payer_key()
    env.require.not_equal(payer_a.address, payer_b.address)
    env.new_client(100, payer_key=payer_a, name="payer-a").publish_envelopes(10)
    env.new_client(100, payer_key=payer_b, name="payer-b").publish_envelopes(10)
    env.wait_for_replication()
    usage = {u.address.lower(): u for u in env.node(100).get_unsettled_usage()}
    for key in (payer_a, payer_b):
        entry = usage.get(key.address.lower())
        env.require.not_none(entry, f"payer {key.address} must appear in node 100's unsettled usage")
        assert entry is not None
        env.require.equal(entry.message_count, 10, f"messages charged to {key.address}")
        env.require.greater(entry.spend_picodollars, 0, f"spend charged to {key.address}")
