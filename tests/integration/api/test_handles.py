"""Every handle method against a real cluster, on both runtimes."""

from __future__ import annotations

import hashlib

import pytest

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.chain.units import xusd
from xmtpd_e2e.client.envelopes import decode_originator_envelope
from xmtpd_e2e.client.errors import PublishError
from xmtpd_e2e.client.node_api import NodeApi
from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.runtime.base import ServiceState


_RESPONSE_FIELDS = (
    "originator_node_id",
    "sequence_id",
    "payer_address",
    "base_fee_picodollars",
    "congestion_fee_picodollars",
    "payer_envelope_size",
    "retention_days",
)


def test_published_envelope_is_stored_byte_for_byte_on_another_node(any_env: Environment) -> None:
    node_100, node_200 = any_env.add_nodes(2)
    published = any_env.new_client(100).publish_envelopes(3)
    any_env.wait_for_replication()
    for record in published:
        key = (record.originator_node_id, record.sequence_id)
        original = node_100.observer.envelope_bytes(*key)
        stored = node_200.observer.envelope_bytes(*key)
        assert original is not None and stored is not None
        assert stored == original, f"{key}: node 200's copy differs from node 100's"
        # The publish response is signed apart from the stored envelope, each with an expiry
        # taken from the clock at signing: all else agrees, and the stored one expires no earlier.
        decoded = decode_originator_envelope(stored)
        response = {name: getattr(record, name) for name in _RESPONSE_FIELDS}
        assert {name: getattr(decoded, name) for name in _RESPONSE_FIELDS} == response, key
        assert decoded.expiry_unixtime >= record.expiry_unixtime, key
        if decoded.expiry_unixtime == record.expiry_unixtime:
            assert hashlib.sha256(stored).hexdigest() == record.envelope_hash, key
        assert decoded.originator_signer == node_100.address
        assert decoded.payer_address == any_env.client(100).payer_address
    api = NodeApi(lambda: node_200.endpoint)
    try:
        returned = api.query_envelopes(originator_node_ids=[100])
        assert {decode_originator_envelope(e).sequence_id for e in returned} >= {r.sequence_id for r in published}
        assert api.health_check()
        # The node serves its sync cursor from memory, refreshed on its own schedule, so it can
        # trail the database that wait_for_replication looked at: wait for it, don't sample it.
        wait_until(
            lambda: api.get_sync_cursor().get(100, 0),
            lambda seq: seq >= max(r.sequence_id for r in published),
            timeout=30,
            description="node 200's sync cursor to reach node 100's last envelope",
        )
    finally:
        api.close()


def test_node_identity_lifecycle_and_observation(any_env: Environment) -> None:
    nodes = any_env.add_nodes(3)
    node = any_env.node(300)
    assert [n.id for n in any_env.nodes()] == [100, 200, 300] and nodes[2] is node
    assert node.alias == "node-300" and node.address.startswith("0x") and node.signer_key.startswith("0x")
    assert node.get_node_info() == 300 and node.is_canonical()
    assert node.get_gas_balance() > 0 and node.get_fee_token_balance() == 0
    with pytest.raises(E2EError, match="no node 400"):
        any_env.node(400)
    any_env.new_client(100).publish_envelopes(5)
    node.wait_for_envelopes(5, client_only=True)
    assert node.get_staged_envelope_count() == 0
    assert node.get_vector_clock().get(100, 0) >= 5
    assert node.get_payer_report_count() == 0 and node.get_payer_report_status_counts().total == 0
    assert node.get_settled_payer_reports() == []
    assert node.observer.report_attestations() == []  # the query runs against the real schema
    assert node.observer.report_usage(300) == []  # so does this one
    usage = {u.address.lower(): u for u in any_env.node(100).get_unsettled_usage()}
    assert usage[any_env.client(100).payer_address.lower()].message_count == 5

    node.stop(kill=True)
    assert node.state() is not ServiceState.RUNNING
    any_env.new_client(100).publish_envelopes(5)
    node.start()
    assert node.is_running and node.get_node_info() == 300  # same identity and database
    node.wait_for_envelopes(10, client_only=True)
    node.stop()
    node.start()
    any_env.wait_for_replication()
    any_env.sampler.sample_once()  # one round now, so the check does not depend on the thread's timing
    observed = any_env.observations()
    sampled = observed["samples"]["nodes"]
    assert set(sampled) == {"node-100", "node-200", "node-300"}
    assert sampled["node-100"][-1][1] >= 10 and sampled["node-300"][-1][2] == 0  # count, and no lag
    assert sum(observed["publishing"]["published"]) == 10 and observed["publishing"]["failed_total"] == 0


def test_chaos_and_partition_on_a_node(any_env: Environment) -> None:
    any_env.add_nodes(2)
    node = any_env.node(200)
    chaos = any_env._chaos
    assert chaos is not None
    node.add_latency(200)
    node.limit_proxy_bandwidth(100)
    node.add_connection_reset(5000)
    node.add_timeout(0)
    assert {t["type"] for t in chaos.toxics(node.proxy.name)} == {"latency", "bandwidth", "reset_peer", "timeout"}
    toxics = sorted(e.name for e in any_env.timeline.active("fault"))
    assert toxics == ["latency", "proxy-bandwidth", "reset", "timeout"]
    node.remove_all_toxics()
    assert chaos.toxics(node.proxy.name) == [] and not any_env.timeline.active("fault")
    with pytest.warns(DeprecationWarning, match="limit_proxy_bandwidth"):
        node.add_bandwidth_limit(100)
    any_env.heal()  # heals toxics too
    assert chaos.toxics(node.proxy.name) == []
    node.disconnect()
    node.disconnect()  # idempotent, unlike upstream's toggle
    assert chaos.proxies()[node.proxy.name]["enabled"] is False
    node.reconnect()
    assert chaos.proxies()[node.proxy.name]["enabled"] is True
    any_env.new_client(200).publish_envelopes(3)
    any_env.wait_for_replication()


def test_gateway_handle(any_env: Environment) -> None:
    any_env.add_nodes(2)
    gateway = any_env.add_gateway()
    assert gateway.index == 0 and gateway.alias == "gateway-0" and any_env.gateway(0) is gateway
    named = any_env.add_gateway(alias="edge")
    assert named.alias == "edge" and any_env.gateways() == [gateway, named]
    gateway.deposit(xusd(20))
    assert gateway.get_payer_balance() == xusd(20)
    gateway.request_withdrawal(xusd(5))
    assert gateway.get_payer_balance() == xusd(15)
    gateway.cancel_withdrawal()
    assert gateway.get_payer_balance() == xusd(20)
    assert gateway.get_gas_balance() > 0
    client = any_env.new_client(via_gateway=0)
    published = client.publish_envelopes(4)
    assert {p.payer_address for p in published} == {gateway.address}
    gateway.add_latency(100)
    client.publish_envelopes(1)
    gateway.remove_all_toxics()
    gateway.stop()
    with pytest.raises(PublishError) as error:
        client.publish_envelopes(1)
    assert error.value.unreachable and "gateway-0" in str(error.value)
    gateway.start()
    client.publish_envelopes(1)
    any_env.wait_for_replication()


def test_usage_is_charged_to_the_signer_direct_clients_pay_themselves_gateway_clients_do_not(
    any_env: Environment,
) -> None:
    any_env.add_nodes(2)
    gateway = any_env.add_gateway()
    direct = any_env.new_client(100, name="direct")
    via_gateway = any_env.new_client(via_gateway=0, name="via-gateway")
    assert direct.key.address == via_gateway.key.address, "both clients hold the same key"
    assert (direct.payer_address, via_gateway.payer_address) == (direct.key.address, gateway.address)
    direct_records = direct.publish_envelopes(3)
    gateway_records = via_gateway.publish_envelopes(4)
    assert {r.payer_address for r in direct_records} == {direct.payer_address}
    assert {r.payer_address for r in gateway_records} == {gateway.address}
    any_env.wait_for_replication()

    # Every node records usage against the payer that signed the payer envelope: the client's own
    # key when it publishes directly, the gateway's key when it goes through one.
    expected = {direct.key.address.lower(): 3, gateway.address.lower(): 4}
    for node in any_env.nodes():
        usage = {u.address.lower(): u.message_count for u in node.get_unsettled_usage()}
        assert usage == expected, node.alias


def test_node_logs_its_api_server_start(any_env: Environment) -> None:
    node = any_env.add_node()
    assert "started api server" in node.logs()


def test_envelope_keys_on_a_real_node_and_what_disconnect_cuts(local_env: Environment) -> None:
    """The README's partition sentence, shown: a disconnected node (its proxy disabled) cannot be
    pulled from, but it still pulls from the others -- a one-way cut, not isolation."""
    node_100, node_200 = local_env.add_nodes(2)
    node_200.disconnect()
    into_200 = {(e.originator_node_id, e.sequence_id) for e in local_env.new_client(100).publish_envelopes(5)}
    out_of_200 = {(e.originator_node_id, e.sequence_id) for e in local_env.new_client(200).publish_envelopes(5)}
    node_200.wait_for_envelope_keys(into_200, timeout=60)  # still arrives: node 200 pulls from node 100
    assert node_200.has_envelopes(into_200 | out_of_200) is True
    assert node_100.missing_envelopes(out_of_200) == out_of_200  # nobody can pull from node 200
    assert node_100.has_envelopes(out_of_200) is False
    assert node_100.envelope_keys() >= into_200 and not (node_100.envelope_keys() & out_of_200)
    node_200.reconnect()
    node_100.wait_for_envelope_keys(out_of_200, timeout=120)
