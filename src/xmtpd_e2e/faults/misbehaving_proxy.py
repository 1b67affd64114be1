"""A node that misbehaves toward its peers: a gRPC proxy altering what the node serves.

xmtpd v1.2.0 syncs by pull: each node subscribes to every peer's
``ReplicationApi/SubscribeEnvelopes`` for that peer's own originator id and stores what arrives
(``pkg/sync/originator_stream.go``).  Peers dial the address the node registered on chain, its
toxiproxy proxy; pointing that proxy's upstream at this proxy (which forwards to the node) puts
it on every peer's sync path from the node, while the framework's own clients, which dial the
node's port, meet the honest node.

Every method is forwarded as bytes (stream-stream on the wire fits unary and streaming calls
alike), the caller's metadata (the node-to-node token) with it.  Responses of
``SubscribeEnvelopes`` and ``QueryEnvelopes`` pass through :class:`Misbehaviour`, which changes
the node's own envelopes the way a dishonest node would:

* ``bad-signature`` -- the originator signature's first byte flipped;
* ``equivocate`` -- each envelope followed by another under the same originator and sequence id,
  with a different payload, signed with the node's own key (a valid signature: what a node that
  equivocates would send);
* ``skip-sequence`` -- the first envelope served while in force left out, so the next arrives
  with a gap;
* ``replay-old`` -- after every response with envelopes of the node, a response of its own
  carrying the first envelope served while in force again (a later response is not guaranteed:
  a node serves a burst of envelopes in one response); for the unary ``QueryEnvelopes`` the
  envelope goes at the end of the one response instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from eth_hash.auto import keccak
from eth_keys import keys

from xmtpd_e2e.client.channel import CHANNEL_OPTIONS
from xmtpd_e2e.client.proto import envelopes_pb2, message_api_pb2
from xmtpd_e2e.explore.read_mutants import _changed_payload, _key

__all__ = ["BEHAVIOURS", "Misbehaviour", "MisbehavingProxy", "resign"]

BEHAVIOURS = ("bad-signature", "equivocate", "skip-sequence", "replay-old")
_SERVICE = "/xmtp.xmtpv4.message_api.ReplicationApi/"
_MUTATED: dict[str, Any] = {
    _SERVICE + "SubscribeEnvelopes": message_api_pb2.SubscribeEnvelopesResponse,
    _SERVICE + "QueryEnvelopes": message_api_pb2.QueryEnvelopesResponse,
}
_UNARY = frozenset({_SERVICE + "QueryEnvelopes"})
"""Methods whose caller takes exactly one response: what a misbehaviour splits into several
responses goes back as one (a second message would break the call, not test the peer)."""
_HOP_HEADERS = frozenset({"user-agent", "content-type", "te", "grpc-accept-encoding", "grpc-timeout"})
ORIGINATOR_LABEL = b"originator|"
"""xmtpd's domain separation for originator signatures (``pkg/constants``)."""

Envelope = envelopes_pb2.OriginatorEnvelope


def resign(envelope: Envelope, private_key: str) -> Envelope:
    """``envelope`` with its originator signature made again with ``private_key`` over its
    unsigned bytes: keccak256("originator|" + bytes), 65 bytes r || s || v (v 0 or 1)."""
    digest = keccak(ORIGINATOR_LABEL + envelope.unsigned_originator_envelope)
    key = keys.PrivateKey(bytes.fromhex(private_key.removeprefix("0x")))
    signed = Envelope()
    signed.CopyFrom(envelope)
    signed.originator_signature.bytes = key.sign_msg_hash(digest).to_bytes()
    return signed


@dataclass
class Misbehaviour:
    """What the node does to the envelopes it serves of its own originator id (pure; unit-tested)."""

    behaviour: str
    originator: int
    private_key: str
    altered: list[tuple[int, int]] = field(default_factory=list)
    """(originator, sequence id) of every envelope changed, left out or replayed."""
    _first: Envelope | None = None
    _skipped: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.behaviour!r}; known: {', '.join(BEHAVIOURS)}")

    def apply(self, envelopes: list[Envelope]) -> list[list[Envelope]]:
        """The responses to send for one response of the node (its envelopes changed)."""
        with self._lock:
            served: list[Envelope] = []
            for envelope in envelopes:
                if _key(envelope)[0] != self.originator:
                    served.append(envelope)
                    continue
                served.extend(self._one(envelope))
            own = any(_key(e)[0] == self.originator for e in envelopes)
            if self.behaviour == "replay-old" and self._first is not None and own:
                self.altered.append(_key(self._first))
                return [served, [self._first]]
            return [served]

    def _one(self, envelope: Envelope) -> list[Envelope]:
        key = _key(envelope)
        if self.behaviour == "bad-signature":
            corrupted = Envelope()
            corrupted.CopyFrom(envelope)
            signature = bytearray(corrupted.originator_signature.bytes)
            signature[0] ^= 0xFF
            corrupted.originator_signature.bytes = bytes(signature)
            self.altered.append(key)
            return [corrupted]
        if self.behaviour == "equivocate":
            try:
                other = resign(_changed_payload(envelope), self.private_key)
            except Exception:
                return [envelope]  # not a client message with a payload to change
            self.altered.append(key)
            return [envelope, other]
        if self.behaviour == "skip-sequence" and not self._skipped:
            self._skipped = True
            self.altered.append(key)
            return []
        if self.behaviour == "replay-old" and self._first is None:
            self._first = envelope
        return [envelope]


@dataclass
class MisbehavingProxy:
    """A gRPC server on ``bind_host`` forwarding everything to ``upstream()`` (the node), its
    own envelopes changed by ``misbehaviour``."""

    upstream: Callable[[], str]
    misbehaviour: Misbehaviour
    bind_host: str
    _server: Any = None
    port: int = 0

    def start(self) -> str:
        """Serve; returns ``host:port`` (reachable from the services at ``bind_host``)."""
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=48), options=CHANNEL_OPTIONS)
        self._server.add_generic_rpc_handlers((_Forwarder(self),))
        self.port = self._server.add_insecure_port(f"{self.bind_host}:0")
        self._server.start()
        return f"{self.bind_host}:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=0)
            self._server = None

    def forward(self, method: str, requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        metadata = tuple(
            (k, v) for k, v in context.invocation_metadata() if not k.startswith(":") and k not in _HOP_HEADERS
        )
        response_type = _MUTATED.get(method)
        with grpc.insecure_channel(self.upstream(), options=CHANNEL_OPTIONS) as channel:
            call = channel.stream_stream(method)(requests, metadata=metadata)
            context.add_callback(call.cancel)
            try:
                for data in call:
                    if response_type is None:
                        yield data
                        continue
                    response = response_type.FromString(data)
                    responses = self.misbehaviour.apply(list(response.envelopes))
                    if method in _UNARY:
                        responses = [[envelope for changed in responses for envelope in changed]]
                    for changed in responses:
                        yield bytes(response_type(envelopes=changed).SerializeToString())
            except grpc.RpcError as exc:
                if context.is_active():
                    context.abort(exc.code(), exc.details() or "upstream failed")


class _Forwarder(grpc.GenericRpcHandler):  # type: ignore[misc]
    def __init__(self, proxy: MisbehavingProxy) -> None:
        self._proxy = proxy

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        return grpc.stream_stream_rpc_method_handler(
            lambda requests, context: self._proxy.forward(method, requests, context)
        )
