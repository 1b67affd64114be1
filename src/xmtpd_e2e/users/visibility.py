"""Whether the nodes store what other clients need to find a user: its identity updates and its
installations' key packages.

Why it matters: a user registers through a gateway, which hands its envelopes to one node; other
nodes get them by replication.  A libxmtp client that creates a group on another node before Bob's
key package has arrived there fails at once (``key packages 0 != installation_keys 1``), so a test
that means "Bob exists everywhere" waits for it here instead of racing replication.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xmtpd_e2e.api.node_handle import NodeHandle
    from xmtpd_e2e.users.user import User

__all__ = ["IDENTITY_UPDATES_TOPIC", "KEY_PACKAGES_TOPIC", "missing_on_nodes"]

IDENTITY_UPDATES_TOPIC = "02"
"""Topic prefix (hex) of an inbox's identity updates; the inbox id follows."""
KEY_PACKAGES_TOPIC = "03"
"""Topic prefix (hex) of an installation's key packages; the installation id follows."""


def missing_on_nodes(nodes: Sequence[NodeHandle], users: Sequence[User]) -> dict[str, list[str]]:
    """Per node alias, what of ``users`` it does not store yet (empty when every node has all)."""
    lacking: dict[str, list[str]] = {}
    for node in nodes:
        topics = {row[2] for row in node.observer.client_envelope_rows()}
        for user in users:
            if IDENTITY_UPDATES_TOPIC + user.inbox_id not in topics:
                lacking.setdefault(node.alias, []).append(f"{user.name}'s identity updates")
            if KEY_PACKAGES_TOPIC + user.installation_id not in topics:
                lacking.setdefault(node.alias, []).append(f"{user.name}'s key package")
    return lacking
