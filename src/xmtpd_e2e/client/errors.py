"""Publishing errors, translated from gRPC into messages that say where and why."""

from __future__ import annotations

import grpc

from xmtpd_e2e.errors import E2EError

__all__ = ["PublishError", "ResponseDecodeError", "from_rpc_error", "UNDECODABLE"]

_UNREACHABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}

UNDECODABLE = "UNDECODABLE_RESPONSE"
"""The code of a :class:`PublishError` whose response arrived but could not be decoded: the
service accepted the request, so its envelopes may well be stored."""

_SHOWN_BYTES = 2048
"""How much of an undecodable response its error shows, as hex (a publish response of one
envelope is about 500 bytes)."""


class PublishError(E2EError):
    """A publish failed; ``unreachable`` tells "could not reach it" from "it refused"."""

    def __init__(self, target: str, code: str, details: str, unreachable: bool) -> None:
        self.target = target
        self.code = code
        self.details = details
        self.unreachable = unreachable
        if unreachable:
            verdict = "is unreachable"
        elif code == UNDECODABLE:
            verdict = "answered with a response that does not decode"
        else:
            verdict = "refused the request"
        super().__init__(f"{target} {verdict}: {code}: {details}")


def from_rpc_error(target: str, error: grpc.RpcError) -> PublishError:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return PublishError(target, code.name, details or "", code in _UNREACHABLE)


class ResponseDecodeError(E2EError):
    """A service answered, but its response does not decode as the expected message.

    gRPC's own deserialization would only say ``INTERNAL: Exception deserializing response!``;
    this error names the method, the address, protobuf's reason and shows the bytes, so a
    mismatch between our message definitions and the service's can be found from one report.
    """

    def __init__(self, address: str, method: str, expected: str, data: bytes, reason: str) -> None:
        self.address = address
        self.method = method
        self.expected = expected
        self.data = data
        self.reason = reason
        shown = data[:_SHOWN_BYTES].hex() + ("..." if len(data) > _SHOWN_BYTES else "")
        super().__init__(
            f"{address}: the {method} response ({len(data)} bytes) does not decode as {expected}: {reason}; "
            f"bytes: {shown}"
        )
