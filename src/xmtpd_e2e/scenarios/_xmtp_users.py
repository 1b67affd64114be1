"""Shared set-up and checks of the ``xmtp-*`` scenarios (real libxmtp users).

Nodes get ``XMTPD_API_ORIGINATOR_CACHE_TTL=100ms``, as xmtpd's own tests do: with the default
(5 minutes) a fresh cluster hides chain-originated commits from every client for 5 minutes
(docs/findings/originator-cache-hides-new-originators.md; ``xmtp-dm`` runs on the defaults and
shows it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.api.gateway_handle import GatewayHandle
from xmtpd_e2e.api.node_handle import NodeHandle
from xmtpd_e2e.scenarios._topology import standard_cluster
from xmtpd_e2e.users import Conversation, Message, User
from xmtpd_e2e.users.visibility import missing_on_nodes

__all__ = [
    "ORIGINATOR_CACHE_TTL",
    "FINDING",
    "users_cluster",
    "join",
    "wait_for_texts",
    "check_exactly_once_in_order",
    "check_identities_on_every_node",
]

ORIGINATOR_CACHE_TTL: Mapping[str, str] = {"XMTPD_API_ORIGINATOR_CACHE_TTL": "100ms"}
FINDING = "docs/findings/originator-cache-hides-new-originators.md"


def users_cluster(*, nodes: int = 3) -> Callable[[Environment], object]:
    """A scenario's ``setup=``: ``nodes`` nodes and one gateway, with the originator-cache setting
    (module docstring)."""

    def set_up(env: Environment) -> tuple[list[NodeHandle], list[GatewayHandle]]:
        env.log.info("nodes get XMTPD_API_ORIGINATOR_CACHE_TTL=100ms (xmtpd's test setting; see %s)", FINDING)
        return standard_cluster(env, nodes=nodes, node_env=ORIGINATOR_CACHE_TTL)

    return set_up


def join(user: User, conversation_id: str, *, timeout: float = 60.0) -> Conversation:
    """``user``'s handle on a conversation it was added to, once its welcome arrived."""
    return user.wait_for_conversation(conversation_id, timeout=timeout)


def wait_for_texts(conversation: Conversation, expected: Sequence[str], *, timeout: float = 60.0) -> list[Message]:
    """Sync until every text in ``expected`` is in the conversation; returns its messages."""
    return conversation.wait_for_texts(expected, timeout=timeout)


def check_exactly_once_in_order(
    env: Environment, reader: User, messages: Sequence[Message], sent: Mapping[str, Sequence[str]]
) -> None:
    """``reader`` has each sent text exactly once, and each sender's texts in sending order."""
    texts = [m.text for m in messages]
    for sender, sender_texts in sent.items():
        counts = {t: texts.count(t) for t in sender_texts}
        env.require.equal(
            {t: c for t, c in counts.items() if c != 1}, {}, f"{reader.name} has each of {sender}'s messages once"
        )
        order = [m.text for m in messages if m.text in set(sender_texts)]
        env.require.equal(order, list(sender_texts), f"{reader.name} has {sender}'s messages in the order sent")


def check_identities_on_every_node(env: Environment, users: Sequence[User], *, timeout: float = 60.0) -> None:
    """Every node stores each user's identity updates and each installation's key package
    (waiting for replication); the failure lists what each node lacks."""

    env.require.eventually(
        lambda: missing_on_nodes(env.nodes(), users),
        accept=lambda lacking: not lacking,
        timeout=timeout,
        description=f"every node to store the identity updates and key packages of {len(users)} users",
    )
