"""Real users during an exploration: the group made before the workload starts, one thread per
user sending its planned texts at their times, and a catch-up by sync once the faults are healed.

Before time 0 every user registers on its node (through ``gateway-0``), every node is waited on
to store every user's identity and key package, the first user creates the group with the others
and they join from their welcomes; then each user streams every message, as an app does.  What
members get -- by stream during the workload, by sync at the end -- is the users' own history
(:attr:`Environment.users.history <xmtpd_e2e.users.UserPool.history>`), read back as
:class:`~xmtpd_e2e.explore.user_history.UserDelivery`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from xmtpd_e2e.errors import WaitTimeout
from xmtpd_e2e.explore.schedule import Schedule
from xmtpd_e2e.explore.user_history import UserDelivery, UserSendRecorder, UsersHistory
from xmtpd_e2e.explore.user_plan import USER_GATEWAY, UserSendSpec
from xmtpd_e2e.polling import wait_until

if TYPE_CHECKING:
    from xmtpd_e2e.api.environment import Environment
    from xmtpd_e2e.users import Conversation

__all__ = ["UserWorkload", "JOIN_TIMEOUT"]

log = logging.getLogger("xmtpd_e2e.explore")
JOIN_TIMEOUT = 90.0
"""Seconds for the users' identities to reach every node and for each member's welcome to arrive."""


class UserWorkload:
    """Made by :meth:`set_up` (the group exists and every member streams), then :meth:`start`,
    :meth:`join` and :meth:`finish`."""

    def __init__(self, env: Environment, group: str, conversations: dict[str, Conversation], nodes: dict[str, str]):
        self.env = env
        self.group = group
        self.conversations = conversations
        """Member name -> its handle on the group."""
        self.nodes = nodes
        """Member name -> the node alias it reads from."""
        self.recorder = UserSendRecorder()
        self.threads: list[threading.Thread] = []

    @classmethod
    def set_up(cls, env: Environment, schedule: Schedule) -> UserWorkload:
        users = [
            env.new_user(node=int(spec.node.removeprefix("node-")), gateway=USER_GATEWAY, name=spec.name)
            for spec in schedule.users
        ]
        env.users.wait_until_on_nodes(env.nodes(), timeout=JOIN_TIMEOUT)
        creator, *others = users
        group = creator.create_group(others, name=f"explore-{schedule.seed}")
        conversations = {creator.name: group}
        for user in others:
            conversations[user.name] = user.wait_for_conversation(group.id, timeout=JOIN_TIMEOUT)
        for user in users:
            user.stream()
        log.info("users %s joined group %s", ", ".join(u.name for u in users), group.id[:8])
        return cls(env, group.id, conversations, {u.name: u.node_alias for u in users})

    # -- during the workload ------------------------------------------------------------------------
    def start(self, schedule: Schedule, t0: float, stop: threading.Event) -> None:
        """One thread per user, sending its planned texts in order, each at its time or as soon
        as the previous send returned."""
        for name in self.conversations:
            sends = [s for s in schedule.user_sends if s.user == name]
            thread = threading.Thread(
                target=self._send_all, args=(name, sends, t0, stop), name=f"explore-user-{name}", daemon=True
            )
            self.threads.append(thread)
            thread.start()

    def _send_all(self, name: str, sends: Sequence[UserSendSpec], t0: float, stop: threading.Event) -> None:
        conversation = self.conversations[name]
        for spec in sends:
            if stop.wait(max(0.0, t0 + spec.at - time.time())):
                return
            send = self.recorder.invoke(name, spec.text)
            try:
                message_id = conversation.send(spec.text)
            except Exception as error:  # a failed send leaves its outcome unknown (user_history)
                self.recorder.failed(send, f"{type(error).__name__}: {error}"[:500])
                continue
            self.recorder.ok(send, message_id)

    def join(self, deadline: float) -> None:
        """Wait (until ``deadline``, monotonic) for sends still in flight once the workload ended."""
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- after the heal ----------------------------------------------------------------------------
    def deliveries(self) -> list[UserDelivery]:
        """What the members got in the group, first sighting of each message, in order seen."""
        return [
            UserDelivery(m.user, m.sender, m.text, m.message_id, m.received_at, m.how, m.sent_at)
            for m in self.env.users.history.messages()
            if m.conversation == self.group and m.user in self.conversations
        ]

    def _behind(self) -> list[str]:
        """Members still lacking an acknowledged text; each of them syncs once."""
        acknowledged = [(s.user, s.text) for s in self.recorder.sends() if s.outcome == "ok"]
        had: dict[str, set[str]] = {name: set() for name in self.conversations}
        for delivery in self.deliveries():
            had[delivery.member].add(delivery.text)
        behind = [n for n in self.conversations if any(u != n and t not in had[n] for u, t in acknowledged)]
        for name in behind:
            try:
                self.conversations[name].sync()
            except Exception as error:  # a node still recovering: the next probe syncs again
                log.debug("%s: sync failed: %s", name, error)
        return behind

    def finish(self, timeout: float) -> UsersHistory:
        """Sync members until each has every acknowledged text of the others (at most
        ``timeout`` seconds); the users' history of this exploration."""
        began = time.monotonic()
        caught_up: float | None = None
        try:
            wait_until(
                self._behind,
                lambda behind: not behind,
                timeout=timeout,
                description="every member of the users' group to have every acknowledged text",
                max_interval=1.0,
                detail=lambda behind: f"behind: {', '.join(behind)}",
            )
            caught_up = round(time.monotonic() - began, 3)
        except WaitTimeout:
            log.warning("users not caught up within %gs: the checker reports what is missing", timeout)
        return UsersHistory(self.group, dict(self.nodes), self.recorder.sends(), self.deliveries(), caught_up)
