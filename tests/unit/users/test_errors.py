from xmtpd_e2e.users.errors import UserError, failed_call, gateway_reason, without_api_stats


def test_a_publish_error_names_the_gateway() -> None:
    call = failed_call(
        "[ClientError::Api] api error: PayerApi/PublishClientEnvelopes: Internal error",
        gateway="gateway-0",
        node="node-100",
    )
    assert call.rpc == "PayerApi/PublishClientEnvelopes"
    assert call.target == "gateway-0"


def test_a_read_error_names_the_node() -> None:
    call = failed_call("error querying: QueryEnvelopes timed out", gateway="gateway-0", node="node-200")
    assert (call.rpc, call.target) == ("QueryEnvelopes", "node-200")


def test_without_an_rpc_both_are_named() -> None:
    error = UserError(
        "alice",
        "create_dm",
        "Sync failed to wait for intent",
        failed_call("Sync failed to wait for intent", gateway="gateway-0", node="node-100"),
    )
    assert str(error) == "alice: create_dm failed (via node-100 or gateway-0): Sync failed to wait for intent"


def test_the_gateways_reason_is_its_last_node_refusal_since_the_operation_began() -> None:
    log = "\n".join(
        [
            '2026-12-06T22:48:01.000Z\tERROR\tgateway\terror publishing to node, will retry\t{"error": "old"}',
            "2026-12-06T22:48:05.100Z\tINFO\tgateway\tconnecting to node",
            "2026-12-06T22:48:05.200Z\tERROR\tgateway\terror publishing to node, will retry with the next one\t"
            '{"originator_id": 100, "error": "could not validate key package: connection refused"}',
        ]
    )
    since = 1796597285.0  # 2026-12-06T22:48:05Z
    reason = gateway_reason(log, since)
    assert reason is not None and "could not validate key package: connection refused" in reason
    assert "old" not in reason
    assert gateway_reason(log, since + 60) is None


def test_libxmtps_api_call_table_is_left_out() -> None:
    text = "[ClientError::Api] 'Internal error'. \n ============ Api Stats ============\nUploadKeyPackage        6\n"
    assert without_api_stats(text) == "[ClientError::Api] 'Internal error'."
