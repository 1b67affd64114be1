"""Real XMTP users: libxmtp clients (PyPI ``xmtp-bindings``) registering inboxes, creating DMs and
groups and exchanging messages through the environment's gateways and nodes.

``env.new_user(node=100, gateway=0)`` returns a :class:`User`; everything users do and receive is
in ``env.users.history``.
"""

from xmtpd_e2e.users.conversation import Conversation, Message
from xmtpd_e2e.users.errors import UserError
from xmtpd_e2e.users.history import ReceivedMessage, UserHistory, UserOperation
from xmtpd_e2e.users.pool import UserPool
from xmtpd_e2e.users.user import User

__all__ = [
    "Conversation",
    "Message",
    "ReceivedMessage",
    "User",
    "UserError",
    "UserHistory",
    "UserOperation",
    "UserPool",
]
