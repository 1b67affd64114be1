"""Publishing checks the fault scenarios share."""

from __future__ import annotations

from xmtpd_e2e.api.client_handle import ClientHandle
from xmtpd_e2e.client.errors import PublishError

__all__ = ["publish_succeeds", "TRAFFIC_AFTER_HEAL_SECONDS"]

TRAFFIC_AFTER_HEAL_SECONDS = 2.0
"""How long a fault scenario's traffic goes on once the fault ends, so that envelopes published
on the healed path (not only the backlog from the fault) must replicate too: 2 s of a 5-per-0.2 s
stream is some 50 envelopes, and the replication check after it waits for every one."""


def publish_succeeds(client: ClientHandle, count: int = 5) -> bool:
    """Whether ``client`` publishes ``count`` envelopes now: the retry a real client would make
    after a fault ends, for ``env.require.eventually``."""
    try:
        client.publish_envelopes(count)
    except PublishError:
        return False
    return True
