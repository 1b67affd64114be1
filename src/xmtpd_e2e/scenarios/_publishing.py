"""Publishing checks the fault scenarios share."""

from __future__ import annotations

from xmtpd_e2e.api.client_handle import ClientHandle
from xmtpd_e2e.client.errors import PublishError

__all__ = ["publish_succeeds"]


def publish_succeeds(client: ClientHandle, count: int = 5) -> bool:
    """Whether ``client`` publishes ``count`` envelopes now: the retry a real client would make
    after a fault ends, for ``env.require.eventually``."""
    try:
        client.publish_envelopes(count)
    except PublishError:
        return False
    return True
