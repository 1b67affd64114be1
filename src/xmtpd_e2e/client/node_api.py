"""The node's gRPC API (``ReplicationApi``, ``MetadataApi``, health) for publishing and reading."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from xmtpd_e2e.client.channel import FollowingChannel
from xmtpd_e2e.client.proto import envelopes_pb2, health_pb2, message_api_pb2, metadata_api_pb2

__all__ = ["NodeApi"]

_REPLICATION = "/xmtp.xmtpv4.message_api.ReplicationApi/"
_METADATA = "/xmtp.xmtpv4.metadata_api.MetadataApi/"
QUERY_PAGE = 1000


class NodeApi:
    def __init__(self, resolve_address: Callable[[], str], *, timeout: float = 35.0) -> None:
        # A publish may legitimately block up to 30 s on the node: it returns once its publish worker
        # has moved the staged envelopes into the envelope tables, waiting at most 30 s for that.
        self._channel = FollowingChannel(resolve_address)
        self._timeout = timeout

    @property
    def address(self) -> str:
        return self._channel.address

    def publish_payer_envelopes(
        self, envelopes: Sequence[envelopes_pb2.PayerEnvelope]
    ) -> list[envelopes_pb2.OriginatorEnvelope]:
        request = message_api_pb2.PublishPayerEnvelopesRequest(payer_envelopes=list(envelopes))
        response = self._channel.unary(
            _REPLICATION + "PublishPayerEnvelopes",
            request,
            message_api_pb2.PublishPayerEnvelopesResponse,
            self._timeout,
        )
        return list(response.originator_envelopes)

    def query_envelopes(
        self,
        *,
        originator_node_ids: Iterable[int] = (),
        topics: Iterable[bytes] = (),
        last_seen: dict[int, int] | None = None,
        limit: int = QUERY_PAGE,
    ) -> list[envelopes_pb2.OriginatorEnvelope]:
        query = message_api_pb2.EnvelopesQuery(
            originator_node_ids=list(originator_node_ids),
            topics=list(topics),
            last_seen=envelopes_pb2.Cursor(node_id_to_sequence_id=last_seen or {}),
        )
        response = self._channel.unary(
            _REPLICATION + "QueryEnvelopes",
            message_api_pb2.QueryEnvelopesRequest(query=query, limit=limit),
            message_api_pb2.QueryEnvelopesResponse,
            self._timeout,
        )
        return list(response.envelopes)

    def get_version(self) -> str:
        response = self._channel.unary(
            _METADATA + "GetVersion", metadata_api_pb2.GetVersionRequest(), metadata_api_pb2.GetVersionResponse, 5.0
        )
        return str(response.version)

    def get_sync_cursor(self) -> dict[int, int]:
        response = self._channel.unary(
            _METADATA + "GetSyncCursor",
            metadata_api_pb2.GetSyncCursorRequest(),
            metadata_api_pb2.GetSyncCursorResponse,
            5.0,
        )
        return dict(response.latest_sync.node_id_to_sequence_id)

    def health_check(self, service: str = "") -> bool:
        response = self._channel.unary(
            "/grpc.health.v1.Health/Check",
            health_pb2.HealthCheckRequest(service=service),
            health_pb2.HealthCheckResponse,
            5.0,
        )
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    def close(self) -> None:
        self._channel.close()
