"""Every chain operation against a real anvil holding the XMTP contracts; state checked after each."""

from __future__ import annotations

import subprocess

import pytest

from xmtpd_e2e.chain.client import Chain, RateOptions
from xmtpd_e2e.chain.contracts import addresses
from xmtpd_e2e.chain.errors import ChainInputError, ContractRevert
from xmtpd_e2e.chain.keys import InvalidPrivateKey, Key, KeyManager
from xmtpd_e2e.chain.units import xusd
from xmtpd_e2e.config import XMTPD_VERSION
from xmtpd_e2e.infra.binaries import resolve_binary


@pytest.fixture()
def chain(anvil_url: str) -> Chain:
    return Chain(anvil_url, KeyManager.admin_key())


def test_state_has_code_at_every_address(chain: Chain) -> None:
    assert chain.w3.eth.chain_id == 31337
    for key, value in addresses().items():
        if isinstance(value, str) and value.startswith("0x") and key != "deployer":
            assert len(chain.w3.eth.get_code(value)) > 0, key


def test_registration_canonical_network_and_clear_errors(chain: Chain) -> None:
    keys = KeyManager(lambda a: chain.fund_gas(a, 10**21))
    first, second = keys.next_node_key(), keys.next_node_key()
    assert chain.register_node(first.address, first, "http://node-100:5050") == 100
    assert chain.register_node(second.address, second, "http://node-200:5050") == 200
    assert chain.register_node(first.address, first, "http://elsewhere:1") == 100  # like the CLI: no duplicate
    assert chain.canonical_node_ids() == []
    chain.add_to_canonical_network(100)
    chain.add_to_canonical_network(200)
    assert chain.canonical_node_ids() == [100, 200]
    chain.remove_from_canonical_network(200)
    assert chain.canonical_node_ids() == [100]
    record = chain.get_node(100)
    assert record.signer == first.address and record.is_canonical and record.http_address == "http://node-100:5050"
    with pytest.raises(ChainInputError, match="node 999 is not registered"):
        chain.add_to_canonical_network(999)
    with pytest.raises(ChainInputError, match="not a valid owner address"):
        chain.register_node("0x1234", first, "http://x:1")
    with pytest.raises(InvalidPrivateKey):
        Key.from_hex("0xnot-a-key")
    with pytest.raises(ContractRevert) as revert:
        chain.tx.send("NodeRegistry", chain.contract("NodeRegistry").functions.addToNetwork(100), first)
    assert revert.value.error_name == "NotAdmin"


def test_many_nodes_register_in_one_batch_in_the_order_given(chain: Chain) -> None:
    keys = [Key.generate() for _ in range(12)]
    ids = chain.register_nodes([(k.address, k, f"http://node-{i}:5050") for i, k in enumerate(keys)])
    assert ids == list(range(ids[0], ids[0] + 100 * len(keys), 100))
    records = {n.node_id: n for n in chain.all_nodes()}
    for i, (key, node_id) in enumerate(zip(keys, ids, strict=True)):
        assert (records[node_id].signer, records[node_id].http_address) == (key.address, f"http://node-{i}:5050")
    chain.add_all_to_canonical_network(ids)
    assert set(ids) <= set(chain.canonical_node_ids())
    # a key already registered keeps its id; one given twice in a batch is registered once
    fresh = Key.generate()
    again = chain.register_nodes(
        [
            (keys[0].address, keys[0], "http://x:1"),
            (fresh.address, fresh, "http://y:1"),
            (fresh.address, fresh, "http://y:1"),
        ]
    )
    assert again == [ids[0], ids[-1] + 100, ids[-1] + 100]
    with pytest.raises(ChainInputError, match="node 99900 is not registered"):
        chain.add_all_to_canonical_network([ids[0], 99900])


def test_generated_keys_are_funded(chain: Chain) -> None:
    keys = KeyManager(lambda a: chain.fund_gas(a, 1000 * 10**18))
    for _ in range(5):
        keys.next_node_key()
    extra = keys.next_node_key()
    assert chain.gas_balance(extra.address) == 1000 * 10**18


def test_rates_read_back_as_set(chain: Chain) -> None:
    before = chain.get_rates()
    assert before[-1].message_fee == 100 and before[-1].storage_fee == 200
    start = chain.block_timestamp() + 60
    chain.update_rates(RateOptions(1000, 500, 0, 100, start_time=start))
    after = chain.get_rates()
    assert len(after) == len(before) + 1
    assert (
        after[-1].message_fee,
        after[-1].storage_fee,
        after[-1].congestion_fee,
        after[-1].target_rate_per_minute,
        after[-1].start_time,
    ) == (1000, 500, 0, 100, start)
    chain.update_rates(RateOptions(2000, 500, 0, 100))
    assert chain.get_rates()[-1].start_time >= chain.block_timestamp() + 2 * 3600 - 5


def test_funding_withdrawal_and_time_travel(chain: Chain) -> None:
    payer = KeyManager.default_client_key()
    chain.fund_payer(payer.address, xusd(100))
    assert chain.payer_balance(payer.address) == xusd(100)
    chain.request_payer_withdrawal(payer, xusd(40))
    assert chain.payer_balance(payer.address) == xusd(60)
    assert chain.pending_withdrawal(payer.address).amount == xusd(40)
    with pytest.raises(ContractRevert) as early:
        chain.finalize_payer_withdrawal(payer, payer.address)
    assert early.value.error_name == "WithdrawalNotReady" and early.value.error_args["nonce"] == 1
    chain.cancel_payer_withdrawal(payer)
    assert chain.payer_balance(payer.address) == xusd(100)
    chain.request_payer_withdrawal(payer, xusd(40))
    chain.increase_time(2 * 24 * 3600 + 1)
    before = chain.fee_token_balance(payer.address)
    chain.finalize_payer_withdrawal(payer, payer.address)
    assert chain.fee_token_balance(payer.address) - before == xusd(40)
    with pytest.raises(ChainInputError, match="cannot withdraw"):
        chain.request_payer_withdrawal(payer, xusd(1000))
    with pytest.raises(ChainInputError, match="positive"):
        chain.fund_payer(payer.address, 0)


def test_mint_then_deposit_and_minimum_deposit(chain: Chain) -> None:
    payer = Key.generate()
    chain.mint_fee_token(xusd(5))
    with pytest.raises(ContractRevert) as small:
        chain.deposit_payer(payer.address, xusd(5))
    assert small.value.error_name == "InsufficientDeposit"
    with pytest.raises(ChainInputError, match="less than"):
        chain.deposit_payer(payer.address, xusd(10_000))


def test_settlement_helpers_decode_their_preconditions(chain: Chain) -> None:
    keys = KeyManager(lambda a: chain.fund_gas(a, 10**21))
    node = keys.next_node_key()
    node_id = chain.register_node(node.address, node, "http://n:1")
    assert chain.payer_registry_excess() == 0
    with pytest.raises(ContractRevert, match="NoExcess"):
        chain.send_excess_to_fee_distributor()
    assert chain.distribution_owed_fees(node_id) == 0
    with pytest.raises(ContractRevert) as claim:
        chain.claim_from_distribution_manager(node, node_id, [node_id], [0])
    assert claim.value.error_name in ("NoReportsForOriginator", "PayerReportNotSettled", "PayerReportIndexOutOfBounds")
    with pytest.raises(ContractRevert, match="NoFeesOwed"):
        chain.withdraw_from_distribution_manager(node, node_id)
    with pytest.raises(ChainInputError, match="differ in length"):
        chain.claim_from_distribution_manager(node, node_id, [1, 2], [0])


def test_registration_is_identical_to_the_real_cli(chain: Chain, anvil_url: str) -> None:
    keys = KeyManager(lambda a: chain.fund_gas(a, 10**21))
    ours, theirs = keys.next_node_key(), keys.next_node_key()
    ours_id = chain.register_node(ours.address, ours, "http://node-a:5050")
    cli = resolve_binary("xmtpd-cli", version=XMTPD_VERSION)
    completed = subprocess.run(
        [
            str(cli),
            "--environment=anvil",
            f"--private-key={KeyManager.admin_key().private_key}",
            f"--settlement-rpc-url={anvil_url}",
            "nodes",
            "register",
            f"--owner-address={theirs.address}",
            f"--signing-key-pub={theirs.public_key_compressed}",
            "--http-address=http://node-a:5050",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr + completed.stdout
    records = {n.node_id: n for n in chain.all_nodes()}
    assert set(records) == {ours_id, ours_id + 100}
    mine, cli_made = records[ours_id], records[ours_id + 100]
    assert (mine.is_canonical, mine.http_address) == (cli_made.is_canonical, cli_made.http_address)
    assert mine.signer == ours.address and cli_made.signer == theirs.address
    assert mine.signing_public_key == ours.public_key_uncompressed
    assert cli_made.signing_public_key == theirs.public_key_uncompressed
    owner = chain.contract("NodeRegistry").functions.ownerOf(ours_id + 100).call()
    assert owner == theirs.address and chain.contract("NodeRegistry").functions.ownerOf(ours_id).call() == ours.address
