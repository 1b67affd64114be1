"""Probing membership from outside: whether what one node stores reaches another."""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.errors import WaitTimeout
from xmtpd_e2e.polling import wait_until

__all__ = ["replicates_within"]


REGISTRY_SETTLE_S = 5.0
"""Nodes read the registry every 2 s (the framework's setting): twice that and a margin."""


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
