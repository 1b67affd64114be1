"""The front against a real gRPC server standing in for the gateway's API (raw bytes both ways)."""

from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from xmtpd_e2e.client.proto import payer_api_pb2
from xmtpd_e2e.users.gateway_front import GET_NODES, GatewayFront

PUBLISH = "/xmtp.xmtpv4.payer_api.PayerApi/PublishClientEnvelopes"


class _Upstream(grpc.GenericRpcHandler):  # type: ignore[misc]
    def service(self, details: Any) -> grpc.RpcMethodHandler:
        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            if request == b"fail":
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "could not validate key package")
            return b"echo:" + request

        return grpc.unary_unary_rpc_method_handler(answer)


@pytest.fixture()
def upstream() -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((_Upstream(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


def _call(front: GatewayFront, method: str, body: bytes) -> bytes:
    with grpc.insecure_channel(front.url.removeprefix("http://")) as channel:
        result: bytes = channel.unary_unary(method)(body, timeout=5)
        return result


def test_calls_pass_through_and_get_nodes_is_answered_by_the_front(upstream: str) -> None:
    front = GatewayFront(lambda: upstream, lambda: {200: "127.0.0.1:4200"}, name="front-test")
    try:
        assert _call(front, PUBLISH, b"envelope") == b"echo:envelope"
        nodes = payer_api_pb2.GetNodesResponse.FromString(_call(front, GET_NODES, b""))
        assert dict(nodes.nodes) == {200: "http://127.0.0.1:4200"}
    finally:
        front.close()


def test_the_gateways_status_and_message_reach_the_client(upstream: str) -> None:
    front = GatewayFront(lambda: upstream, lambda: {}, name="front-test")
    try:
        with pytest.raises(grpc.RpcError) as raised:
            _call(front, PUBLISH, b"fail")
        assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "could not validate key package" in (raised.value.details() or "")
    finally:
        front.close()
