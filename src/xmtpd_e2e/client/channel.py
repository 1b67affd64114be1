"""A gRPC channel that follows a service's current address.

A restarted node (docker runtime) can come back on a new host port, so callers give a resolver
instead of an address; the channel is rebuilt whenever the resolved address changes.  Plain gRPC
over h2c: xmtpd's connect-go server accepts gRPC and gRPC-Web but rejects the Connect protocol
with FAILED_PRECONDITION.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from xmtpd_e2e.client.errors import ResponseDecodeError

__all__ = ["FollowingChannel", "MAX_MESSAGE_BYTES", "CHANNEL_OPTIONS", "decode_response"]

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.enable_http_proxy", 0),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # Own subchannels per channel: a fresh channel must not inherit a shared subchannel that is
    # still backing off from a service that was down.
    ("grpc.use_local_subchannel_pool", 1),
    # Accept uncompressed responses only (grpc-accept-encoding: identity).  xmtpd's connect-go
    # server gzips every response a client accepts gzip for, and now and then (3 of about 21,600
    # publish responses in explore runs, grpcio 1.85) the still-gzipped bytes reached the
    # deserializer as the message: "INTERNAL: Exception deserializing response!".  Compression
    # gains nothing between processes on one machine.
    ("grpc.compression_enabled_algorithms_bitset", 1 << 0),
]


_CONNECT_FAILURES = ("failed to connect", "Connection refused", "Connection reset", "Socket closed")


def _never_connected(error: grpc.RpcError) -> bool:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else ""
    return code == grpc.StatusCode.UNAVAILABLE and any(m in (details or "") for m in _CONNECT_FAILURES)


def decode_response(data: bytes, response_type: Any, *, method: str, address: str) -> Any:
    """``data`` parsed as ``response_type``; raises ResponseDecodeError with the bytes if it is not one."""
    try:
        return response_type.FromString(data)
    except DecodeError as error:
        raise ResponseDecodeError(address, method, response_type.DESCRIPTOR.full_name, data, str(error)) from None


class FollowingChannel:
    def __init__(self, resolve_address: Callable[[], str]) -> None:
        self._resolve = resolve_address
        self._address: str | None = None
        self._channel: grpc.Channel | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self._address or self._resolve()

    def unary(self, method: str, request: Any, response_type: Any, timeout: float) -> Any:
        """Call ``method``; the response decoded as ``response_type``.  Raises grpc.RpcError, or
        ResponseDecodeError when the response arrived but does not decode."""
        for attempt in (1, 2):
            # The response comes back as bytes and is decoded here: a deserializer given to gRPC
            # that fails is reported only as "INTERNAL: Exception deserializing response!".
            call = self._current().unary_unary(method, request_serializer=lambda m: m.SerializeToString())
            try:
                data = call(request, timeout=timeout)
            except grpc.RpcError as error:
                # A channel that failed to connect stays in backoff for a while; after a service
                # restart, start over with a fresh channel once.  Only connection failures are
                # retried: the request never reached the server, so a retry cannot duplicate it.
                if attempt == 2 or not _never_connected(error):
                    raise
                self.close()
                continue
            return decode_response(data, response_type, method=method, address=self.address)
        raise AssertionError("unreachable")

    def server_stream(self, method: str, request: Any, timeout: float | None = None) -> Any:
        """Open a server stream; the call iterates the raw response messages (decode each with
        :func:`decode_response`) and ``cancel()`` ends it.  Not retried: a stream that fails is
        the reader's to reopen from its cursor."""
        call = self._current().unary_stream(method, request_serializer=lambda m: m.SerializeToString())
        return call(request, timeout=timeout)

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
                self._channel = None

    def _current(self) -> grpc.Channel:
        address = self._resolve()
        with self._lock:
            if self._channel is None or address != self._address:
                if self._channel is not None:
                    self._channel.close()
                self._channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
                self._address = address
            return self._channel
