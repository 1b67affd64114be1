"""A DM or group as one user's client sees it: send, sync, read, members, epoch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.users.confirm import confirm, gave_up_waiting
from xmtpd_e2e.users.errors import UserError

__all__ = ["Conversation", "Message"]

if TYPE_CHECKING:
    from xmtpd_e2e.users.user import User


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
        """Send a text message through the gateway; returns its id (hex) once it is published
        (see xmtpd_e2e.users.confirm for when libxmtp's own wait is too short)."""
        handle = self._handle
        try:
            message_id: bytes = self._user.call("send", lambda: handle.send_text(text), conversation=self.id, text=text)
        except UserError as error:
            if not gave_up_waiting(error):
                raise
            found = confirm(
                self._user, "send", error, lambda: self._published(text), f"{self._user.name}'s {text!r} published"
            )
            return found.id
        return message_id.hex()

    def _published(self, text: str) -> Message | None:
        self._user.call("sync", self._handle.sync, conversation=self.id)
        mine = [m for m in self.messages() if m.sender_inbox == self._user.inbox_id and m.text == text]
        return next((m for m in mine if m.published), None)

    def wait_for_members(self, done: Callable[[set[str]], bool], gave_up: UserError, what: str) -> None:
        """Sync until ``done(member inbox ids)`` (the commit libxmtp gave up on was merged)."""

        def merged() -> bool | None:
            self._user.call("sync", self._handle.sync, conversation=self.id)
            return True if done(set(self.members())) else None

        confirm(self._user, gave_up.operation, gave_up, merged, what)

    def sync(self) -> None:
        """Fetch and process what the node has for this conversation, recording new messages."""
        handle = self._handle
        self._user.call("sync", handle.sync, conversation=self.id)
        self._user.record_new_messages(self, how="sync")

    def wait_for_texts(self, expected: Sequence[str], *, timeout: float = 60.0) -> list[Message]:
        """Sync until every text in ``expected`` is in the conversation; returns its messages."""
        wanted = set(expected)

        def messages() -> list[Message]:
            self.sync()
            return self.messages()

        return wait_until(
            messages,
            lambda found: wanted <= {m.text for m in found},
            timeout=timeout,
            description=f"{self._user.name} ({self._user.node_alias}) to have {len(wanted)} messages",
            detail=lambda found: f"{len(wanted & {m.text for m in found})} of {len(wanted)}",
            swallow=(UserError,),
        )

    def messages(self) -> list[Message]:
        """Every text message in this user's local database (no network), as an app lists them:
        by sent time (libxmtp's default order; a received message's time is its envelope's, given
        by the node that took it).  Not the order the client stored them: a message it could not
        decrypt at first (its sender's commit lost an epoch race and was retried) is stored after
        later ones -- a CI run of xmtp-group-chat stored user-2's #2 before its #0 and #1 -- which
        no user sees and neither libxmtp nor xmtpd promises
        (docs/findings/client-stores-retried-messages-out-of-order.md)."""
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
        try:
            self._user.call(
                "add_members",
                lambda: handle.add_members(inboxes),
                conversation=self.id,
                members=[u.name for u in users],
            )
        except UserError as error:
            if not gave_up_waiting(error):
                raise
            self.wait_for_members(lambda m: set(inboxes) <= m, error, f"{[u.name for u in users]} added")

    def remove_members(self, users: Sequence[User]) -> None:
        inboxes = [u.inbox_id for u in users]
        handle = self._handle
        try:
            self._user.call(
                "remove_members",
                lambda: handle.remove_members(inboxes),
                conversation=self.id,
                members=[u.name for u in users],
            )
        except UserError as error:
            if not gave_up_waiting(error):
                raise
            self.wait_for_members(lambda m: not set(inboxes) & m, error, f"{[u.name for u in users]} removed")
