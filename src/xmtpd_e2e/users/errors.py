"""libxmtp errors as the framework reports them: which user, which operation, which RPC, and the
node or gateway it went to -- libxmtp's own text names at most the RPC."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from xmtpd_e2e.errors import E2EError

__all__ = ["UserError", "FailedCall", "failed_call", "gateway_reason", "without_api_stats"]

_GATEWAY_RPCS = ("PublishClientEnvelopes", "GetNodes", "GetReaderNode")
_RPC = re.compile(
    r"\b(?:(PayerApi|ReplicationApi|MetadataApi|IdentityApi|MlsApi|Health)/)?"
    r"(PublishClientEnvelopes|GetNodes|GetReaderNode|QueryEnvelopes|SubscribeEnvelopes|SubscribeTopics|"
    r"GetNewestEnvelopes?|GetInboxIds|PublishPayerEnvelopes|HealthCheck|GetSyncCursor|GetVersion)\b"
)


@dataclass(frozen=True)
class FailedCall:
    rpc: str | None
    """The RPC libxmtp names in its error (``PayerApi/PublishClientEnvelopes``), when it names one."""
    target: str
    """The gateway's or node's alias the RPC went to, or both when libxmtp does not say."""


def failed_call(text: str, *, gateway: str, node: str) -> FailedCall:
    """Which RPC failed and where, read from libxmtp's error text."""
    match = _RPC.search(text)
    if match is None:
        return FailedCall(None, f"{node} or {gateway}")
    service, method = match.group(1), match.group(2)
    rpc = f"{service}/{method}" if service else method
    return FailedCall(rpc, gateway if method in _GATEWAY_RPCS else node)


class UserError(E2EError):
    """A user's operation failed in libxmtp; the message says who, what, the RPC and where."""

    def __init__(self, user: str, operation: str, detail: str, call: FailedCall) -> None:
        self.user = user
        self.operation = operation
        self.detail = detail
        self.call = call
        rpc = f" ({call.rpc} to {call.target})" if call.rpc else f" (via {call.target})"
        super().__init__(f"{user}: {operation} failed{rpc}: {detail}")


_NODE_REFUSED = "error publishing to node"
_API_STATS = re.compile(r"\s*=+ Api Stats =+.*", re.DOTALL)


def without_api_stats(text: str) -> str:
    """libxmtp's error without the table of API call counts some errors append."""
    return _API_STATS.sub("", text).strip()


def gateway_reason(log: str, since: float) -> str | None:
    """Why the gateway failed a publish, from its own log: its last ``error publishing to node``
    line at or after ``since`` (Unix seconds) -- libxmtp only ever sees ``Internal error``."""
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since))
    found = None
    for line in log.splitlines():
        if _NODE_REFUSED in line and line[:19] >= start:
            found = line
    if found is None:
        return None
    detail = found.split(_NODE_REFUSED, 1)[1].strip(" ,\t")
    return f"{_NODE_REFUSED} {detail}"[:600]
