"""rate-registry-change: nodes price messages with the rates in effect, before and after changes.

Upstream changes rates twice and then only waits for envelopes and a payer report -- fees are
never checked.  Here each envelope's base fee, as signed by the node, must equal
``messageFee + storageFee * payer-envelope bytes * retention days`` for the rates in effect when
it was published: first the deployed rates, then each new set once its start time has passed.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.chain.client import RateOptions
from xmtpd_e2e.client.ledger import PublishedEnvelope
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster

RATE_REFRESH = {"XMTPD_SETTLEMENT_CHAIN_RATE_REGISTRY_REFRESH_INTERVAL": "2s"}


def expected_base_fee(envelope: PublishedEnvelope, rates: RateOptions) -> int:
    return rates.message_fee + rates.storage_fee * envelope.payer_envelope_size * envelope.retention_days


@scenario(
    "rate-registry-change",
    "Change the rates twice; every envelope's base fee matches the rates in effect when published",
    suites=("fast",),
    typical_seconds=14,
    setup=cluster(node_env=RATE_REFRESH),
)
def rate_registry_change(env: Environment) -> None:
    client = env.new_client(100)
    deployed = env.chain.get_rates()[-1]
    initial = RateOptions(
        deployed.message_fee, deployed.storage_fee, deployed.congestion_fee, deployed.target_rate_per_minute
    )
    for envelope in client.publish_envelopes(5):
        env.require.equal(
            envelope.base_fee_picodollars, expected_base_fee(envelope, initial), "base fee under the deployed rates"
        )

    for message_fee, storage_fee, congestion_fee, target in (
        (1_000_000, 500_000, 100_000, 1000),
        (2_000_000, 1_000_000, 200_000, 2000),
    ):
        start = env.chain.block_timestamp() + 3
        rates = RateOptions(message_fee, storage_fee, congestion_fee, target, start_time=start)
        env.update_rates(rates)
        env.require.equal(env.chain.get_rates()[-1].message_fee, message_fee, "rates read back from chain")
        time.sleep(max(0.0, start - time.time()))  # the new rates apply from their start time

        def priced_with_new_rates(rates: RateOptions = rates) -> bool:
            envelope = client.publish_envelopes(1)[0]
            return envelope.base_fee_picodollars == expected_base_fee(envelope, rates)

        env.require.eventually(
            priced_with_new_rates, timeout=30, description=f"node 100 to price envelopes with messageFee {message_fee}"
        )
        for envelope in client.publish_envelopes(5):
            env.require.equal(
                envelope.base_fee_picodollars,
                expected_base_fee(envelope, rates),
                f"base fee under messageFee {message_fee}",
            )
    env.wait_for_replication()
