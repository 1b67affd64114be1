"""Probing membership from outside: whether what one node stores reaches another."""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.errors import WaitTimeout
from xmtpd_e2e.polling import wait_until

__all__ = ["replicates_within", "await_live_sync", "RECONNECT_BACKOFF_CEILING_S"]


REGISTRY_SETTLE_S = 5.0
"""Nodes read the registry every 2 s (the framework's setting): twice that and a margin."""

RECONNECT_BACKOFF_CEILING_S = 150.0
"""xmtpd v1.2.0 waits up to 60 s +50 % jitter before re-dialling a peer whose stream broke, and
that wait grows with every earlier break (docs/findings/sync-reconnect-backoff-never-resets.md)."""


def await_live_sync(env: Environment, source: int, destination: int) -> float:
    """Publish one envelope to node ``source`` and wait until node ``destination`` stores it:
    how long its sync of ``source`` took to come back.  A contract judged by replication starts
    from a live stream, not from one xmtpd is still backing off from earlier faults."""
    began = time.monotonic()
    [published] = env.new_client(source).publish_envelopes(1)
    key = (published.originator_node_id, published.sequence_id)
    observer = env.node(destination).observer
    wait_until(
        lambda: key in observer.envelope_keys(),
        bool,
        timeout=RECONNECT_BACKOFF_CEILING_S,
        description=f"node {destination} to sync node {source} again (its reconnect backoff)",
    )
    return time.monotonic() - began


def replicates_within(env: Environment, source: int, destination: int, seconds: float) -> bool:
    """Once the nodes have re-read the registry, publish one envelope to node ``source``; whether
    node ``destination`` stores it within ``seconds``."""
    time.sleep(REGISTRY_SETTLE_S)
    [published] = env.new_client(source).publish_envelopes(1)
    key = (published.originator_node_id, published.sequence_id)
    observer = env.node(destination).observer
    try:
        wait_until(
            lambda: key in observer.envelope_keys(),
            bool,
            timeout=seconds,
            description=f"node {destination} to store {key} from node {source}",
        )
    except WaitTimeout:
        return False
    return True
