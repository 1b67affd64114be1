"""Each chain fault is real, seen from outside the nodes on both runtimes: blocks replaced, none
mined, the base fee held high, one node's chain path slow while the other's is not; and the nodes
keep serving through each, with everything back after healing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chain_probes import base_fee_at_least, chain_round_trip, reorganised_within, stalled_for
from runtime_params import runtime_params

from integration_environments import integration_config, started_environment
from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.faults.kinds.chain import anvil_of


@pytest.fixture(scope="module", params=[p for p in runtime_params() if p in ("local", "docker")])
def two_nodes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    tmp_path = tmp_path_factory.mktemp(request.param)
    with started_environment(integration_config(tmp_path, request.param), tmp_path, f"chain-{request.param}") as env:
        env.add_nodes(2)
        yield env


def test_repeated_reorgs_replace_blocks_until_healed(two_nodes: Environment) -> None:
    env = two_nodes
    assert not reorganised_within(env, 2.5)
    fault = env.faults.apply("chain-reorgs", depth=2, every_s=1.0)
    try:
        assert reorganised_within(env, 2.5), "no block was replaced while reorgs were in force"
        env.new_client(100).publish_envelopes(5)
    finally:
        fault.heal()
    assert not reorganised_within(env, 2.5), "blocks are still replaced after healing"
    env.wait_for_replication(timeout=60)


def test_a_single_reorg_keeps_or_drops_the_transactions(two_nodes: Environment) -> None:
    env = two_nodes
    anvil = anvil_of(env)
    kept = env.chain_faults.reorg(3)
    for tx in kept:
        assert anvil.call("eth_getTransactionReceipt", tx) is not None, f"{tx} was not mined again"
    env.mint_fee_token(1)  # four transactions
    head = anvil.block_number()
    with_transactions = next(n for n in range(head, head - 10, -1) if anvil.block(n)["transactions"])
    # anvil mines an empty block every second too: one mined since the head was read would leave
    # the transactions' block out of a reorg counted from that head (seen in a clean-clone run),
    # so the reorg reaches from the head as it is now, two blocks further back.
    depth = anvil.block_number() - with_transactions + 3
    dropped = env.chain_faults.reorg(depth, keep_transactions=False)
    assert dropped, "the replaced blocks held no transaction"
    assert all(anvil.call("eth_getTransactionReceipt", tx) is None for tx in dropped), (
        "a dropped transaction is still mined"
    )


def test_a_stalled_chain_mines_nothing_until_healed(two_nodes: Environment) -> None:
    env = two_nodes
    fault = env.faults.apply("chain-stall")
    try:
        assert stalled_for(env, 2.5), "a block was mined while mining was stopped"
        env.new_client(200).publish_envelopes(5)  # publishing does not need the chain
    finally:
        fault.heal()
    assert not stalled_for(env, 2.5), "no block was mined after healing"
    env.wait_for_replication(timeout=60)


def test_a_base_fee_spike_holds_every_block_until_healed(two_nodes: Environment) -> None:
    env = two_nodes
    spike = 1000 * 10**9
    assert not base_fee_at_least(env, spike)
    fault = env.faults.apply("chain-base-fee-spike", gwei=1000)
    try:
        assert base_fee_at_least(env, spike) and base_fee_at_least(env, spike), "the spike did not hold"
        env.mint_fee_token(1)  # transactions still go through, at that fee
    finally:
        fault.heal()
    assert not base_fee_at_least(env, spike), "the base fee is still spiked after healing"


def test_a_slow_chain_path_delays_that_node_only(two_nodes: Environment) -> None:
    env = two_nodes
    fault = env.faults.apply("chain-slow", on=100, latency_ms=1000)
    try:
        slow = chain_round_trip(env, env.node(100))
        other = chain_round_trip(env, env.node(200))
        assert slow >= 1.0, f"node 100's chain round trip took {slow:.3f} s under a 1000 ms delay"
        assert other < 1.0, f"node 200's chain round trip took {other:.3f} s, though its path is not faulted"
    finally:
        fault.heal()
    assert chain_round_trip(env, env.node(100)) < 1.0, "node 100's chain path is still slow after healing"
    env.new_client(100).publish_envelopes(5)
    env.wait_for_replication(timeout=60)


def test_the_chain_clock_jumps_forward(two_nodes: Environment) -> None:
    env = two_nodes
    before = int(anvil_of(env).block()["timestamp"], 16)
    after = env.chain_faults.jump_time(3600)
    assert after >= before + 3600
    env.new_client(100).publish_envelopes(5)
    env.wait_for_replication(timeout=60)
