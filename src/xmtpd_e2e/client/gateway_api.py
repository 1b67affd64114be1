"""The gateway's gRPC API (``PayerApi``): unsigned client envelopes in, originator envelopes out."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xmtpd_e2e.client.channel import FollowingChannel
from xmtpd_e2e.client.proto import envelopes_pb2, payer_api_pb2

__all__ = ["GatewayApi"]

_PAYER = "/xmtp.xmtpv4.payer_api.PayerApi/"


class GatewayApi:
    def __init__(self, resolve_address: Callable[[], str], *, timeout: float = 60.0) -> None:
        # The gateway retries failed nodes itself (up to 5 x 30 s), so allow it time.
        self._channel = FollowingChannel(resolve_address)
        self._timeout = timeout

    @property
    def address(self) -> str:
        return self._channel.address

    def publish_client_envelopes(
        self, envelopes: Sequence[envelopes_pb2.ClientEnvelope]
    ) -> list[envelopes_pb2.OriginatorEnvelope]:
        response = self._channel.unary(
            _PAYER + "PublishClientEnvelopes",
            payer_api_pb2.PublishClientEnvelopesRequest(envelopes=list(envelopes)),
            payer_api_pb2.PublishClientEnvelopesResponse,
            self._timeout,
        )
        return list(response.originator_envelopes)

    def get_nodes(self) -> dict[int, str]:
        response = self._channel.unary(
            _PAYER + "GetNodes", payer_api_pb2.GetNodesRequest(), payer_api_pb2.GetNodesResponse, 10.0
        )
        return dict(response.nodes)

    def close(self) -> None:
        self._channel.close()
