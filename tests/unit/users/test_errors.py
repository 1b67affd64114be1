from xmtpd_e2e.users.errors import UserError, failed_call


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
