"""A mutating proxy on the read path: proof that the read checker catches what it claims to.

It sits between a reader and a node (``QueryEnvelopes`` and ``SubscribeEnvelopes`` forwarded as
bytes) and, once, changes one response the way a broken node or network would:

* ``drop`` -- leaves out one envelope that has a later one of its originator after it;
* ``duplicate`` -- sends one envelope twice;
* ``reorder`` -- swaps two envelopes of one originator;
* ``replay-old`` -- appends an envelope from an earlier response to a later one;
* ``change-payload`` -- changes a byte of a client's message under its (originator, sequence id).

:data:`EXPECTED` names the violation kind each must be caught as.  The mutations are pure
functions on envelope lists (unit-tested); the proxy applies them to real traffic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc

from xmtpd_e2e.client.channel import CHANNEL_OPTIONS
from xmtpd_e2e.client.proto import envelopes_pb2, message_api_pb2

__all__ = ["MUTATIONS", "EXPECTED", "mutate", "MutatingReadProxy", "Mutated"]

MUTATIONS = ("drop", "duplicate", "reorder", "replay-old", "change-payload")
EXPECTED: dict[str, frozenset[str]] = {
    "drop": frozenset({"read-lost"}),
    "duplicate": frozenset({"read-duplicate"}),
    "reorder": frozenset({"read-order"}),
    "replay-old": frozenset({"read-order", "read-duplicate"}),
    "change-payload": frozenset({"read-mismatch"}),
}
"""What each mutation must be caught as (a replayed envelope is out of order in a query and a
second delivery in a stream)."""
_SERVICE = "xmtp.xmtpv4.message_api.ReplicationApi"

Envelope = envelopes_pb2.OriginatorEnvelope


def _key(envelope: Envelope) -> tuple[int, int]:
    unsigned = envelopes_pb2.UnsignedOriginatorEnvelope.FromString(envelope.unsigned_originator_envelope)
    return unsigned.originator_node_id, unsigned.originator_sequence_id


def _pair(envelopes: list[Envelope]) -> int | None:
    """Index i with envelopes i and i+1 of one originator, i+1 not the last of the response."""
    keys = [_key(e) for e in envelopes]
    for i in range(len(keys) - 1):
        if keys[i][0] == keys[i + 1][0]:
            return i
    return None


def _changed_payload(envelope: Envelope) -> Envelope:
    unsigned = envelopes_pb2.UnsignedOriginatorEnvelope.FromString(envelope.unsigned_originator_envelope)
    payer = envelopes_pb2.PayerEnvelope.FromString(unsigned.payer_envelope_bytes)
    client = envelopes_pb2.ClientEnvelope.FromString(payer.unsigned_client_envelope)
    data = bytearray(client.group_message.v1.data)
    data[-1] ^= 0xFF
    client.group_message.v1.data = bytes(data)
    payer.unsigned_client_envelope = client.SerializeToString()
    unsigned.payer_envelope_bytes = payer.SerializeToString()
    changed = Envelope()
    changed.CopyFrom(envelope)
    changed.unsigned_originator_envelope = unsigned.SerializeToString()
    return changed


def mutate(mutation: str, envelopes: list[Envelope], old: Envelope | None) -> tuple[list[Envelope], str] | None:
    """The mutated response and what was done, or None when this response does not lend itself."""
    i = _pair(envelopes)
    if mutation == "replay-old":
        if old is None or not envelopes or _key(old)[0] not in {_key(e)[0] for e in envelopes}:
            return None
        return [*envelopes, old], f"appended old envelope {_key(old)}"
    if i is None:
        return None
    if mutation == "drop":
        return envelopes[:i] + envelopes[i + 1 :], f"dropped {_key(envelopes[i])}"
    if mutation == "duplicate":
        return envelopes[: i + 1] + [envelopes[i]] + envelopes[i + 1 :], f"sent {_key(envelopes[i])} twice"
    if mutation == "reorder":
        swapped = envelopes[:i] + [envelopes[i + 1], envelopes[i]] + envelopes[i + 2 :]
        return swapped, f"swapped {_key(envelopes[i])} and {_key(envelopes[i + 1])}"
    if mutation == "change-payload":
        if not envelopes[i].unsigned_originator_envelope:
            return None
        try:
            changed = _changed_payload(envelopes[i])
        except Exception:
            return None
        return envelopes[:i] + [changed] + envelopes[i + 1 :], f"changed the payload under {_key(envelopes[i])}"
    raise ValueError(f"unknown mutation {mutation!r}; known: {', '.join(MUTATIONS)}")


@dataclass
class Mutated:
    """What the proxy did (once): the method and a description."""

    method: str = ""
    what: str = ""
    responses: int = 0


@dataclass
class MutatingReadProxy:
    """A gRPC server on 127.0.0.1 forwarding reads to ``upstream`` and mutating one response."""

    upstream: Callable[[], str]
    mutation: str
    done: Mutated = field(default_factory=Mutated)
    _old: Envelope | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: Any = None
    port: int = 0

    def start(self) -> str:
        if self.mutation not in MUTATIONS:
            raise ValueError(f"unknown mutation {self.mutation!r}; known: {', '.join(MUTATIONS)}")
        handler = grpc.method_handlers_generic_handler(
            _SERVICE,
            {
                "QueryEnvelopes": grpc.unary_unary_rpc_method_handler(self._query),
                "SubscribeEnvelopes": grpc.unary_stream_rpc_method_handler(self._subscribe),
            },
        )
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=CHANNEL_OPTIONS)
        self._server.add_generic_rpc_handlers((handler,))
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=0)

    def _apply(self, method: str, envelopes: list[Envelope]) -> list[Envelope]:
        with self._lock:
            self.done.responses += 1
            if not self.done.what:
                mutated = mutate(self.mutation, envelopes, self._old)
                if mutated is not None:
                    envelopes, self.done.what = mutated
                    self.done.method = method
            if self._old is None and envelopes:
                self._old = envelopes[0]
        return envelopes

    def _query(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        with grpc.insecure_channel(self.upstream(), options=CHANNEL_OPTIONS) as channel:
            data = channel.unary_unary(f"/{_SERVICE}/QueryEnvelopes")(request, timeout=10)
        response = message_api_pb2.QueryEnvelopesResponse.FromString(data)
        mutated = self._apply("QueryEnvelopes", list(response.envelopes))
        return bytes(message_api_pb2.QueryEnvelopesResponse(envelopes=mutated).SerializeToString())

    def _subscribe(self, request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        with grpc.insecure_channel(self.upstream(), options=CHANNEL_OPTIONS) as channel:
            call = channel.unary_stream(f"/{_SERVICE}/SubscribeEnvelopes")(request)
            context.add_callback(call.cancel)
            for data in call:
                response = message_api_pb2.SubscribeEnvelopesResponse.FromString(data)
                mutated = self._apply("SubscribeEnvelopes", list(response.envelopes))
                yield bytes(message_api_pb2.SubscribeEnvelopesResponse(envelopes=mutated).SerializeToString())
