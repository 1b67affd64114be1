"""Faults of the chain: repeated reorgs, stalled mining, a base fee spike, one node's slow path.

Registration and rates live on the chain. Each scenario therefore changes one or both while the
fault is in force, then checks that the change took effect. A node registered during the fault
must join and replicate. New rates must price the envelopes once their start time has passed.
Publishing itself does not touch the chain, so it must go on throughout.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.chain.client import RateOptions
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster
from xmtpd_e2e.scenarios.rate_registry_change import RATE_REFRESH, expected_base_fee


def _change_rates_and_check(env: Environment, message_fee: int) -> None:
    """New rates from 5 s of chain time on; node 100 must price with them within 60 s."""
    client = env.new_client(100)
    start = env.chain.block_timestamp() + 5
    rates = RateOptions(message_fee, 500_000, 100_000, 1000, start_time=start)
    env.update_rates(rates)

    def priced_with_new_rates() -> bool:
        envelope = client.publish_envelopes(1)[0]
        return envelope.base_fee_picodollars == expected_base_fee(envelope, rates)

    env.require.eventually(
        priced_with_new_rates, timeout=60, description=f"node 100 to price envelopes with messageFee {message_fee}"
    )


@scenario(
    "chaos-chain-reorgs",
    "Reorgs of depth 3 every 2 s while a node registers and rates change; both take effect, nothing lost",
    suites=("layers",),
    typical_seconds=45,
    setup=cluster(gateways=0, node_env=RATE_REFRESH),
)
def chaos_chain_reorgs(env: Environment) -> None:
    traffic = env.new_client(200).generate_traffic(batch_size=5, interval=0.2)
    fault = env.faults.apply("chain-reorgs", depth=3, every_s=2.0)
    newcomer = env.add_node(env=RATE_REFRESH)
    _change_rates_and_check(env, 1_500_000)
    env.require.true(newcomer.id in env.chain.canonical_node_ids(), f"node {newcomer.id} is canonical after reorgs")
    fault.heal()
    traffic.stop()
    env.require.is_none(traffic.error, "publishing to node 200 (no chain involved) failed during reorgs")
    env.wait_for_replication(timeout=120)


@scenario(
    "chaos-chain-stall",
    "Mining stalled for 10 s under traffic: publishing goes on; a rate change after healing takes effect",
    suites=("layers",),
    typical_seconds=40,
    setup=cluster(gateways=0, node_env=RATE_REFRESH),
)
def chaos_chain_stall(env: Environment) -> None:
    traffic = env.new_client(200).generate_traffic(batch_size=5, interval=0.2)
    fault = env.faults.apply("chain-stall")
    time.sleep(10)
    fault.heal()
    _change_rates_and_check(env, 2_500_000)
    traffic.stop()
    env.require.is_none(traffic.error, "publishing to node 200 failed while the chain was stalled")
    env.wait_for_replication(timeout=120)


@scenario(
    "chaos-chain-base-fee-spike",
    "Base fee held at 1000 gwei while a node registers and rates change; both take effect",
    suites=("layers",),
    typical_seconds=40,
    setup=cluster(gateways=0, node_env=RATE_REFRESH),
)
def chaos_chain_base_fee_spike(env: Environment) -> None:
    fault = env.faults.apply("chain-base-fee-spike", gwei=1000)
    newcomer = env.add_node(env=RATE_REFRESH)
    _change_rates_and_check(env, 3_500_000)
    fault.heal()
    env.new_client(newcomer.id).publish_envelopes(5)
    env.wait_for_replication(timeout=120)


@scenario(
    "chaos-chain-slow",
    "Node 100's chain path 2 s slow per response while rates change; it prices with the new rates",
    suites=("layers",),
    typical_seconds=45,
    setup=cluster(gateways=0, node_env=RATE_REFRESH),
)
def chaos_chain_slow(env: Environment) -> None:
    traffic = env.new_client(200).generate_traffic(batch_size=5, interval=0.2)
    fault = env.faults.apply("chain-slow", on=100, latency_ms=2000)
    _change_rates_and_check(env, 4_500_000)
    fault.heal()
    traffic.stop()
    env.require.is_none(traffic.error, "publishing to node 200 failed while node 100's chain path was slow")
    env.wait_for_replication(timeout=120)
