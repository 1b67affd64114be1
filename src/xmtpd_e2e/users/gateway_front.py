"""What a user's libxmtp client dials as its gateway: a pass-through to the real gateway (through
the gateway's toxiproxy proxy) that answers ``GetNodes`` itself.

libxmtp's decentralized client asks the gateway for the node list (``PayerApi/GetNodes``) and
reads from the node that answers its health check fastest.  The list holds the addresses nodes
registered on chain -- on docker ``toxiproxy:<port>``, which the host cannot resolve -- and
"fastest" would put every user on whichever node happened to answer first.  The front answers
with one node, at the host address of *that node's proxy*, so a user is attached to the node a
scenario chose and node faults reach it.  Every other call goes to the gateway unchanged, bytes
for bytes, with the gateway's status and message when it fails.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc

from xmtpd_e2e.client.proto import payer_api_pb2

__all__ = ["GatewayFront", "GET_NODES"]

GET_NODES = "/xmtp.xmtpv4.payer_api.PayerApi/GetNodes"
_FORWARD_TIMEOUT = 60.0


class GatewayFront:
    """A gRPC server on 127.0.0.1 forwarding to ``gateway()`` and answering GetNodes with
    ``nodes()`` (node id -> ``host:port``); both are read per call, so restarts that move a
    service are followed."""

    def __init__(self, gateway: Callable[[], str], nodes: Callable[[], dict[int, str]], *, name: str) -> None:
        self._gateway = gateway
        self._nodes = nodes
        self._name = name
        self._log = logging.getLogger(f"xmtpd_e2e.users.{name}")
        self._channel: grpc.Channel | None = None
        self._channel_target = ""
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix=name))
        self._server.add_generic_rpc_handlers((_Handler(self),))
        self._port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def url(self) -> str:
        """What the client is given as its gateway host."""
        return f"http://127.0.0.1:{self._port}"

    def get_nodes(self) -> bytes:
        response = payer_api_pb2.GetNodesResponse(
            nodes={node_id: f"http://{address}" for node_id, address in self._nodes().items()}
        )
        return bytes(response.SerializeToString())

    def forward(self, method: str, request: bytes, context: grpc.ServicerContext) -> bytes:
        call = self._upstream().unary_unary(method, request_serializer=None, response_deserializer=None)
        metadata = tuple((k, v) for k, v in context.invocation_metadata() if not k.startswith(":"))
        try:
            response: bytes = call(request, timeout=_FORWARD_TIMEOUT, metadata=metadata)
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
            details = error.details() if hasattr(error, "details") else str(error)
            context.abort(code, details or "")
        return response

    def _upstream(self) -> grpc.Channel:
        target = self._gateway()
        with self._lock:
            return self._channel_to(target)

    def _channel_to(self, target: str) -> grpc.Channel:
        if self._channel is None or target != self._channel_target:
            if self._channel is not None:
                self._channel.close()
            self._channel = grpc.insecure_channel(target)
            self._channel_target = target
        return self._channel

    def close(self) -> None:
        self._server.stop(grace=None).wait(5)
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None


class _Handler(grpc.GenericRpcHandler):  # type: ignore[misc]
    def __init__(self, front: GatewayFront) -> None:
        self._front = front

    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler | None:
        method = str(handler_call_details.method)
        if method == GET_NODES:
            return grpc.unary_unary_rpc_method_handler(lambda _request, _context: self._front.get_nodes())
        return grpc.unary_unary_rpc_method_handler(
            lambda request, context: self._front.forward(method, request, context)
        )
