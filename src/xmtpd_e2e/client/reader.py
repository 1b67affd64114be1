"""Reading a node as a user's app does: ``QueryEnvelopes`` by topic or by originator cursor (paged)
and ``SubscribeEnvelopes`` streams (catch-up from a cursor, then live).

Every envelope read is reduced to what a reader can hold a node to: its originator and sequence
id, its topic and a digest of the payer envelope bytes (the part a client signed; the originator's
signature and expiry are made per response, so they are left out).  Scenarios use it directly::

    reader = EnvelopeReader(lambda: node.endpoint)
    page = reader.query(originators=[100], cursor={100: 0}, limit=100)
    with reader.subscribe(originators=[100, 200]) as stream:
        for batch in stream: ...
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from google.protobuf.message import DecodeError

from xmtpd_e2e.client.channel import FollowingChannel, decode_response
from xmtpd_e2e.client.proto import envelopes_pb2, message_api_pb2

__all__ = ["ReadEnvelope", "EnvelopeReader", "Subscription", "read_envelope", "QUERY_PAGE"]

_REPLICATION = "/xmtp.xmtpv4.message_api.ReplicationApi/"
QUERY_PAGE = 100
DIGEST_BYTES = 8


@dataclass(frozen=True)
class ReadEnvelope:
    originator: int
    sequence_id: int
    topic: str
    """Hex target topic of the client envelope ("" for envelopes that carry none)."""
    digest: str
    """sha256 of the payer envelope bytes, first 8 bytes in hex."""


def read_envelope(envelope: envelopes_pb2.OriginatorEnvelope) -> ReadEnvelope:
    unsigned = envelopes_pb2.UnsignedOriginatorEnvelope.FromString(envelope.unsigned_originator_envelope)
    digest = hashlib.sha256(unsigned.payer_envelope_bytes).digest()[:DIGEST_BYTES].hex()
    try:
        payer = envelopes_pb2.PayerEnvelope.FromString(unsigned.payer_envelope_bytes)
        topic = envelopes_pb2.ClientEnvelope.FromString(payer.unsigned_client_envelope).aad.target_topic.hex()
    except DecodeError:
        topic = ""
    return ReadEnvelope(unsigned.originator_node_id, unsigned.originator_sequence_id, topic, digest)


def _query(
    originators: Iterable[int], topics: Iterable[str], cursor: Mapping[int, int] | None
) -> message_api_pb2.EnvelopesQuery:
    return message_api_pb2.EnvelopesQuery(
        originator_node_ids=list(originators),
        topics=[bytes.fromhex(t) for t in topics],
        last_seen=envelopes_pb2.Cursor(node_id_to_sequence_id=dict(cursor or {})),
    )


class Subscription:
    """One open ``SubscribeEnvelopes`` stream: iterate for batches (a keepalive is an empty batch)."""

    def __init__(self, call: Any, address: str) -> None:
        self._call = call
        self._address = address

    def __iter__(self) -> Iterator[list[ReadEnvelope]]:
        for data in self._call:
            response = decode_response(
                data,
                message_api_pb2.SubscribeEnvelopesResponse,
                method=_REPLICATION + "SubscribeEnvelopes",
                address=self._address,
            )
            yield [read_envelope(e) for e in response.envelopes]

    def cancel(self) -> None:
        self._call.cancel()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.cancel()


class EnvelopeReader:
    def __init__(self, resolve_address: Callable[[], str], *, timeout: float = 10.0) -> None:
        self._channel = FollowingChannel(resolve_address)
        self._timeout = timeout

    @property
    def address(self) -> str:
        return self._channel.address

    def query(
        self,
        *,
        originators: Iterable[int] = (),
        topics: Iterable[str] = (),
        cursor: Mapping[int, int] | None = None,
        limit: int = QUERY_PAGE,
    ) -> list[ReadEnvelope]:
        """One ``QueryEnvelopes`` call: envelopes past ``cursor`` matching the filter, at most ``limit``."""
        response = self._channel.unary(
            _REPLICATION + "QueryEnvelopes",
            message_api_pb2.QueryEnvelopesRequest(query=_query(originators, topics, cursor), limit=limit),
            message_api_pb2.QueryEnvelopesResponse,
            self._timeout,
        )
        return [read_envelope(e) for e in response.envelopes]

    def query_pages(
        self, originators: Iterable[int], cursor: Mapping[int, int] | None = None, *, limit: int = QUERY_PAGE
    ) -> Iterator[list[ReadEnvelope]]:
        """Pages by originator cursor until one comes back short: everything the node holds."""
        wanted = list(originators)
        position = dict(cursor or {})
        while True:
            page = self.query(originators=wanted, cursor=position, limit=limit)
            yield page
            for envelope in page:
                position[envelope.originator] = max(position.get(envelope.originator, 0), envelope.sequence_id)
            if len(page) < limit:
                return

    def subscribe(
        self,
        *,
        originators: Iterable[int] = (),
        topics: Iterable[str] = (),
        cursor: Mapping[int, int] | None = None,
    ) -> Subscription:
        """A ``SubscribeEnvelopes`` stream: catch-up from ``cursor``, then live envelopes."""
        request = message_api_pb2.SubscribeEnvelopesRequest(query=_query(originators, topics, cursor))
        call = self._channel.server_stream(_REPLICATION + "SubscribeEnvelopes", request)
        return Subscription(call, self._channel.address)

    def close(self) -> None:
        self._channel.close()
