"""Probing a misbehaving node from outside: where its registered address leads, and whether a
query through it is answered (by the misbehaving proxy, forwarding to the node)."""

from __future__ import annotations

from xmtpd_e2e.api.node_handle import NodeHandle
from xmtpd_e2e.client.reader import EnvelopeReader

__all__ = ["serves_through_another_upstream"]


def serves_through_another_upstream(node: NodeHandle) -> bool:
    """Toxiproxy forwards the node's registered address somewhere other than the node, and a
    query through that address is answered."""
    if node.chaos.upstream(node.proxy.name) == node.proxy.upstream:
        return False
    host, port = node.chaos.host_address(node.proxy)
    EnvelopeReader(lambda: f"{host}:{port}").query(originators=[node.id], limit=1)
    return True
