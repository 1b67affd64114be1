"""Publishing errors, translated from gRPC into messages that say where and why."""

from __future__ import annotations

import grpc

from xmtpd_e2e.errors import E2EError

__all__ = ["PublishError", "from_rpc_error"]

_UNREACHABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


class PublishError(E2EError):
    """A publish failed; ``unreachable`` tells "could not reach it" from "it refused"."""

    def __init__(self, target: str, code: str, details: str, unreachable: bool) -> None:
        self.target = target
        self.code = code
        self.details = details
        self.unreachable = unreachable
        verdict = "is unreachable" if unreachable else "refused the request"
        super().__init__(f"{target} {verdict}: {code}: {details}")


def from_rpc_error(target: str, error: grpc.RpcError) -> PublishError:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    return PublishError(target, code.name, details or "", code in _UNREACHABLE)
