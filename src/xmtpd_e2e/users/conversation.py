"""A DM or group as one user's client sees it: send, sync, read, members, epoch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.errors import WaitTimeout
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.users.errors import UserError

__all__ = ["Conversation", "Message"]

if TYPE_CHECKING:
    from xmtpd_e2e.users.user import User

SEND_CONFIRM_TIMEOUT = 60.0
"""Seconds a message libxmtp could not confirm in its own wait may take to be confirmed."""
INTENT_WAIT_GAVE_UP = "Sync failed to wait for intent"


@dataclass(frozen=True)
class Message:
    """One application message in a user's local database."""

    id: str
    sender_inbox: str
    sender: str
    text: str
    sent_at: float
    published: bool
    """libxmtp's delivery status: the network has it (always true for others' messages)."""


class Conversation:
    def __init__(self, user: User, handle: Any) -> None:
        self._user = user
        self._handle = handle
        self.id: str = bytes(handle.id()).hex()

    def __repr__(self) -> str:
        return f"Conversation({self.id[:8]} of {self._user.name})"

    @property
    def user(self) -> User:
        return self._user

    def send(self, text: str) -> str:
        """Send a text message through the gateway; returns its id (hex) once it is published.

        libxmtp's send publishes, then syncs at most 3 times (about half a second) until it reads
        its own message back, and says ``Sync failed to wait for intent`` when that was too short
        -- e.g. while concurrent commits of other members are being merged -- though the message
        stays queued and the next syncs publish and confirm it.  So on that error only, this
        syncs on until the message is published (``SEND_CONFIRM_TIMEOUT``), recorded as a
        ``send_confirm`` operation; it fails if the message never is.
        """
        handle = self._handle
        try:
            message_id: bytes = self._user.call("send", lambda: handle.send_text(text), conversation=self.id, text=text)
        except UserError as error:
            if INTENT_WAIT_GAVE_UP not in error.detail:
                raise
            return self._confirm(text, error)
        return message_id.hex()

    def _confirm(self, text: str, gave_up: UserError) -> str:
        def published() -> Message | None:
            self._user.call("sync", self._handle.sync, conversation=self.id)
            mine = [m for m in self.messages() if m.sender_inbox == self._user.inbox_id and m.text == text]
            return next((m for m in mine if m.published), None)

        with self._user.history.operation(self._user.name, "send_confirm", conversation=self.id, text=text):
            try:
                found = wait_until(
                    published,
                    lambda m: m is not None,
                    timeout=SEND_CONFIRM_TIMEOUT,
                    description=f"{self._user.name}'s message {text!r} to be published",
                    swallow=(UserError,),
                )
            except WaitTimeout as timeout:
                raise self._user.error("send", f"{gave_up.detail}; still not published: {timeout}") from None
        assert found is not None
        return found.id

    def sync(self) -> None:
        """Fetch and process what the node has for this conversation, recording new messages."""
        handle = self._handle
        self._user.call("sync", handle.sync, conversation=self.id)
        self._user.record_new_messages(self, how="sync")

    def messages(self) -> list[Message]:
        """Every text message in this user's local database, in the order the client stored
        them (no network)."""
        return self._user.local_messages(self._handle)

    def members(self) -> list[str]:
        """Member inbox ids as this user's client knows them."""
        handle = self._handle
        members: list[Any] = self._user.call("list_members", handle.list_members, conversation=self.id)
        return sorted(str(m.inbox_id) for m in members)

    def epoch(self) -> int:
        """The MLS epoch this user's client is at."""
        handle = self._handle
        info: Any = self._user.call("debug_info", handle.conversation_debug_info, conversation=self.id)
        return int(info.epoch)

    def is_active(self) -> bool:
        """False once this user was removed and its client processed the removal."""
        return bool(self._handle.is_active())

    def add_members(self, users: Sequence[User]) -> None:
        inboxes = [u.inbox_id for u in users]
        handle = self._handle
        self._user.call(
            "add_members", lambda: handle.add_members(inboxes), conversation=self.id, members=[u.name for u in users]
        )

    def remove_members(self, users: Sequence[User]) -> None:
        inboxes = [u.inbox_id for u in users]
        handle = self._handle
        self._user.call(
            "remove_members",
            lambda: handle.remove_members(inboxes),
            conversation=self.id,
            members=[u.name for u in users],
        )
