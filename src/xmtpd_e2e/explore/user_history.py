"""What the real users of an exploration did and received: every send and every delivery.

A send is one ``send_text`` by a user to the group: invoked at a time, completed as

* ``ok`` -- libxmtp returned: the message is published (the network has it);
* ``unknown`` -- libxmtp returned an error.  The message may already be on the network, or stay
  in the sender's database as an intent a later sync publishes, so whether (and when) members
  get it cannot be known from the client: the checker holds such a text to "at most once",
  never to "delivered".

A delivery is the first sighting of one message (by id) by one member other than its sender, by
stream or by sync, taken from the users' own history (:class:`xmtpd_e2e.users.UserHistory`):
a text that reaches a member under two message ids is two deliveries.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["UserSend", "UserDelivery", "UsersHistory", "UserSendRecorder"]


@dataclass
class UserSend:
    id: int
    user: str
    text: str
    invoke: float
    complete: float | None = None
    outcome: str | None = None
    """``ok``, ``unknown`` (see module docstring) or None (still in flight at the end)."""
    message_id: str | None = None
    error: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UserSend:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class UserDelivery:
    member: str
    sender: str
    text: str
    message_id: str
    received_at: float
    how: str
    """``stream`` or ``sync``."""
    sent_at: float | None = None
    """The message's sent time as libxmtp gives it (its envelope's time): what an app lists a
    conversation by.  None in records made before it was kept."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UserDelivery:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass
class UsersHistory:
    group: str
    """The group's id (hex)."""
    members: dict[str, str]
    """Member name -> the node it reads from, for every user that joined the group."""
    sends: list[UserSend] = field(default_factory=list)
    deliveries: list[UserDelivery] = field(default_factory=list)
    """In the order they were first seen."""
    caught_up_seconds: float | None = None
    """After the heal, how long until every member had every acknowledged text (None: not within
    the convergence timeout, or none were acknowledged)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "members": dict(self.members),
            "caught_up_seconds": self.caught_up_seconds,
            "sends": [asdict(s) for s in self.sends],
            "deliveries": [asdict(d) for d in self.deliveries],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsersHistory:
        return cls(
            group=str(data["group"]),
            members={str(k): str(v) for k, v in data["members"].items()},
            sends=[UserSend.from_dict(s) for s in data.get("sends", [])],
            deliveries=[UserDelivery.from_dict(d) for d in data.get("deliveries", [])],
            caught_up_seconds=data.get("caught_up_seconds"),
        )


class UserSendRecorder:
    """Thread-safe recording of sends by the users' threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._sends: list[UserSend] = []

    def invoke(self, user: str, text: str) -> UserSend:
        with self._lock:
            send = UserSend(next(self._ids), user, text, time.time())
            self._sends.append(send)
        return send

    def ok(self, send: UserSend, message_id: str) -> None:
        with self._lock:
            send.complete, send.outcome, send.message_id = time.time(), "ok", message_id

    def failed(self, send: UserSend, error: str) -> None:
        with self._lock:
            send.complete, send.outcome, send.error = time.time(), "unknown", error

    def sends(self) -> list[UserSend]:
        with self._lock:
            return list(self._sends)
