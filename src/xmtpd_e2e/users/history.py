"""Who did what and who saw what, when: every user operation and every message a user received,
per environment -- what checks, the report and artifacts read.

Times are Unix seconds from this host's clock (libxmtp's ``sent_at_ns`` comes from the sender's
client, which runs on this host too), so ``received_at - sent_at`` is a delivery latency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["UserOperation", "ReceivedMessage", "UserHistory"]


@dataclass
class UserOperation:
    user: str
    kind: str
    """register, create_group, create_dm, send, sync, add_members, remove_members, add_installation..."""
    started_at: float
    detail: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.seconds is not None and self.error is None


@dataclass(frozen=True)
class ReceivedMessage:
    user: str
    conversation: str
    """Conversation id, hex."""
    message_id: str
    sender_inbox: str
    sender: str
    """The sender's user name (its inbox id when not a user of this environment)."""
    text: str
    sent_at: float
    received_at: float
    how: str
    """``sync`` (found by a sync) or ``stream``."""

    @property
    def latency(self) -> float:
        return self.received_at - self.sent_at


class UserHistory:
    """Thread-safe record; a message counts once per user, at the first time it was seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._operations: list[UserOperation] = []
        self._received: dict[tuple[str, str], ReceivedMessage] = {}

    @contextmanager
    def operation(self, user: str, kind: str, **detail: Any) -> Iterator[UserOperation]:
        """Record the operation with its duration, or the error it ended with (re-raised)."""
        record = UserOperation(user=user, kind=kind, started_at=time.time(), detail=dict(detail))
        with self._lock:
            self._operations.append(record)
        began = time.monotonic()
        try:
            yield record
        except BaseException as error:
            record.error = str(error) or type(error).__name__
            raise
        finally:
            record.seconds = round(time.monotonic() - began, 4)

    def failed(self, user: str, kind: str, error: str, **detail: Any) -> None:
        """Record something that happened to ``user`` and failed at once (a stream that broke)."""
        record = UserOperation(user=user, kind=kind, started_at=time.time(), detail=dict(detail), seconds=0.0)
        record.error = error or kind
        with self._lock:
            self._operations.append(record)

    def received(self, message: ReceivedMessage) -> bool:
        """Add ``message`` unless this user has it already; True when it was new."""
        key = (message.user, message.message_id)
        with self._lock:
            if key in self._received:
                return False
            self._received[key] = message
            return True

    def operations(self, user: str | None = None, kind: str | None = None) -> list[UserOperation]:
        with self._lock:
            return [
                o for o in self._operations if (user is None or o.user == user) and (kind is None or o.kind == kind)
            ]

    def messages(self, user: str | None = None) -> list[ReceivedMessage]:
        """What ``user`` (or every user) received, in the order it was seen."""
        with self._lock:
            return [m for m in self._received.values() if user is None or m.user == user]

    def lanes(self) -> dict[str, dict[str, Any]]:
        """Per user, what it sent, received and failed at, timed: one lane each in a report."""
        lanes: dict[str, dict[str, Any]] = {}

        def lane(user: str) -> dict[str, Any]:
            return lanes.setdefault(user, {"sent": [], "received": [], "failed": []})

        with self._lock:
            for o in self._operations:
                if o.kind == "send" and o.ok:
                    lane(o.user)["sent"].append(
                        {"at": o.started_at, "text": o.detail.get("text"), "seconds": o.seconds}
                    )
                elif o.error is not None:
                    lane(o.user)["failed"].append({"at": o.started_at, "kind": o.kind, "error": o.error})
            for m in self._received.values():
                lane(m.user)["received"].append(
                    {
                        "at": m.received_at,
                        "from": m.sender,
                        "text": m.text,
                        "latency": round(m.latency, 4),
                        "how": m.how,
                    }
                )
        return lanes

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "operations": [{**asdict(o), "ok": o.ok} for o in self._operations],
                "received": [{**asdict(m), "latency": round(m.latency, 4)} for m in self._received.values()],
            }
