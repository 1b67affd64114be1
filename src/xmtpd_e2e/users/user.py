"""A real XMTP user: one libxmtp client installation (its own database), attached to one node
for reads and one gateway for writes, every operation recorded in the environment's history."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from xmtpd_e2e.chain.keys import Key
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.users.conversation import Conversation, Message
from xmtpd_e2e.users.confirm import gave_up_waiting
from xmtpd_e2e.users.errors import UserError
from xmtpd_e2e.users.history import ReceivedMessage, UserHistory
from xmtpd_e2e.users.stream import KeptStream

if TYPE_CHECKING:
    from xmtpd_e2e.users.pool import UserPool

__all__ = ["User", "DEFAULT_OPERATION_TIMEOUT"]

T = TypeVar("T")
DEFAULT_OPERATION_TIMEOUT = 60.0


class User:
    """Create with ``env.new_user(node=..., gateway=...)``; a second installation of the same
    inbox with :meth:`add_installation`."""

    def __init__(
        self,
        *,
        name: str,
        pool: UserPool,
        client: Any,
        wallet: Key,
        node_id: int,
        node_alias: str,
        gateway_alias: str,
        database: Path,
    ) -> None:
        self.name = name
        self.wallet = wallet
        self.node_id = node_id
        self.node_alias = node_alias
        self.gateway_alias = gateway_alias
        self.database = database
        self._pool = pool
        self._client = client
        self.inbox_id: str = str(client.inbox_id())
        self.installation_id: str = bytes(client.installation_id()).hex()
        self._stream = KeptStream(pool, self)

    def __repr__(self) -> str:
        return f"User({self.name}, inbox {self.inbox_id[:8]}, {self.node_alias} via {self.gateway_alias})"

    # -- plumbing shared with Conversation ----------------------------------------------------
    def call(
        self, kind: str, action: Callable[[], Awaitable[T] | T], *, timeout: float | None = None, **detail: Any
    ) -> T:
        """Run one libxmtp call (a coroutine function or a plain one) on the environment's loop,
        recorded as operation ``kind``; a libxmtp error becomes a :class:`UserError`."""
        bindings = self._pool.bindings

        async def invoke() -> T:
            result = action()
            if isinstance(result, Awaitable):
                return await result
            return result

        with self._pool.history.operation(self.name, kind, **detail) as record:
            try:
                return self._pool.loop.run(
                    invoke(), timeout=timeout or DEFAULT_OPERATION_TIMEOUT, what=f"{self.name}: {kind}"
                )
            except bindings.FfiError as error:
                raise self.error(kind, str(error), since=record.started_at) from None

    def error(self, operation: str, detail: str, *, since: float | None = None) -> UserError:
        """A UserError for ``operation``; when the gateway failed it, with the gateway's reason
        from its log since ``since`` (libxmtp itself only ever gets ``Internal error``)."""
        return self._pool.user_error(
            self.name, operation, detail, gateway=self.gateway_alias, node=self.node_alias, since=since
        )

    @property
    def history(self) -> UserHistory:
        return self._pool.history

    @property
    def client(self) -> Any:
        """The libxmtp ``FfiXmtpClient`` itself, for what this handle does not wrap."""
        return self._client

    # -- conversations --------------------------------------------------------------------------
    def create_group(self, members: Sequence[User], *, name: str | None = None) -> Conversation:
        """A new MLS group with ``members`` (their inboxes: every installation of each)."""
        options = self._pool.bindings.FfiCreateGroupOptions(
            permissions=None,
            group_name=name,
            group_image_url_square=None,
            group_description=None,
            custom_permission_policy_set=None,
            message_disappearing_settings=None,
            app_data=None,
        )
        inboxes = [m.inbox_id for m in members]
        conversations = self._client.conversations()
        return self._create(
            "create_group",
            lambda: conversations.create_group(inboxes, options),
            members,
            members=[m.name for m in members],
        )

    def create_dm(self, other: User) -> Conversation:
        options = self._pool.bindings.FfiCreateDmOptions(message_disappearing_settings=None)
        conversations = self._client.conversations()
        return self._create(
            "create_dm", lambda: conversations.find_or_create_dm(other.inbox_id, options), [other], peer=other.name
        )

    def _create(self, kind: str, action: Callable[[], Any], invited: Sequence[User], **detail: Any) -> Conversation:
        """The new conversation, once its commit adding ``members`` is merged (libxmtp keeps the
        conversation and its queued commit when its own wait gives up: see users.confirm).
        ``invited``: who the commit adds."""
        before = {c.id for c in self.conversations()}
        try:
            return Conversation(self, self.call(kind, action, **detail))
        except UserError as error:
            created = [c for c in self.conversations() if c.id not in before]
            if not gave_up_waiting(error) or len(created) != 1:
                raise
            wanted = {u.inbox_id for u in invited}
            created[0].wait_for_members(lambda m: wanted <= m, error, f"{[u.name for u in invited]} in {kind[7:]}")
            return created[0]

    def sync(self) -> list[Conversation]:
        """Fetch new welcomes and every conversation's messages; returns the conversations."""
        conversations = self._client.conversations()
        self.call("sync_conversations", conversations.sync)
        self.call("sync_all", lambda: conversations.sync_all_conversations(None))
        found = self.conversations()
        for conversation in found:
            self.record_new_messages(conversation, how="sync")
        return found

    def conversations(self) -> list[Conversation]:
        """Conversations in this client's database (no network)."""
        options = self._pool.bindings.FfiListConversationsOptions(
            created_after_ns=None,
            created_before_ns=None,
            last_activity_before_ns=None,
            last_activity_after_ns=None,
            order_by=None,
            limit=None,
            consent_states=None,
            include_duplicate_dms=False,
        )
        items = self._client.conversations().list(options)
        return [Conversation(self, item.conversation()) for item in items]

    def wait_for_conversation(self, conversation_id: str, *, timeout: float = 60.0) -> Conversation:
        """This user's handle on a conversation it was added to, once its welcome arrived: a welcome
        reaches the user's node by replication, so one sync right after the invite may miss it."""

        def find() -> Conversation | None:
            return next((c for c in self.sync() if c.id == conversation_id), None)

        found = wait_until(
            find,
            lambda c: c is not None,
            timeout=timeout,
            description=f"{self.name} to receive the welcome to {conversation_id[:8]} (on {self.node_alias})",
            swallow=(UserError,),
        )
        assert found is not None
        return found

    def conversation(self, conversation_id: str) -> Conversation:
        handle = self.call("conversation", lambda: self._client.conversation(bytes.fromhex(conversation_id)))
        return Conversation(self, handle)

    # -- installations and streams ----------------------------------------------------------------
    def add_installation(self, *, name: str | None = None, node: int | None = None, gateway: int | None = None) -> User:
        """A second installation of this user's inbox (same wallet, new database), registered."""
        return self._pool.new_installation(self, name=name, node=node, gateway=gateway)

    def installations(self) -> list[str]:
        """Installation ids (hex) of this inbox, as the network says now."""
        state: Any = self.call("inbox_state", lambda: self._client.inbox_state(True))
        return sorted(bytes(i.id).hex() for i in state.installations)

    def stream(self) -> None:
        """Stream every message of every conversation; each is recorded as received by stream.
        Kept open as an app keeps it: opened again when libxmtp ends it (see ``KeptStream``)."""
        self._stream.open()

    def received(self) -> list[ReceivedMessage]:
        """Messages from others this user has seen so far (by sync or stream), first sighting each."""
        return self._pool.history.messages(self.name)

    # -- messages ---------------------------------------------------------------------------------
    def local_messages(self, handle: Any) -> list[Message]:
        bindings = self._pool.bindings
        options = bindings.FfiListMessagesOptions(
            sent_before_ns=None,
            sent_after_ns=None,
            limit=None,
            delivery_status=None,
            direction=bindings.FfiDirection.ASCENDING,
            content_types=None,
            exclude_content_types=None,
            exclude_sender_inbox_ids=None,
            sort_by=bindings.FfiSortBy.SENT_AT,
            inserted_after_ns=None,
            inserted_before_ns=None,
        )
        found: list[Any] = self.call("find_messages", lambda: handle.find_messages(options))
        return [m for m in (self._pool.text_message(raw) for raw in found) if m is not None]

    def record_new_messages(self, conversation: Conversation, *, how: str) -> None:
        now = time.time()
        for message in conversation.messages():
            if message.sender_inbox != self.inbox_id:
                self._pool.history.received(
                    ReceivedMessage(
                        user=self.name,
                        conversation=conversation.id,
                        message_id=message.id,
                        sender_inbox=message.sender_inbox,
                        sender=message.sender,
                        text=message.text,
                        sent_at=message.sent_at,
                        received_at=now,
                        how=how,
                    )
                )

    def close(self) -> None:
        """End this user's streams and release its database (the file stays until the pool goes)."""
        self._stream.close()
        self._client.release_db_connection()
