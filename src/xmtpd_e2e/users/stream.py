"""A user's message stream, kept open as an app keeps it.

libxmtp v1.10 ends a message stream on the first error from the node it reads from -- a node
killed and started again shows on the stream's error callback as ``SubscribeError ... h2 protocol
error: error reading a body from connection`` -- and does not open it again: an app does.  Opened
again once the node answers, libxmtp resumes from what its database holds, so a message sent while
the stream was down arrives by the stream too (seen on the local runtime: a message sent while the
member's node was down came 0.04 s after the stream was opened again).  Each break is in the
users' history as a failed ``stream_broken`` operation and each opening as a ``stream`` one, so
checks and the report can say when and for how long a member's stream was down.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.errors import E2EError, WaitTimeout
from xmtpd_e2e.polling import wait_until

if TYPE_CHECKING:
    from xmtpd_e2e.users.pool import UserPool
    from xmtpd_e2e.users.user import User

__all__ = ["KeptStream", "REOPEN_TIMEOUT"]

REOPEN_TIMEOUT = 300.0
"""Seconds a broken stream is tried again (every 1 to 5 s) before it is given up, logged."""
READY_TIMEOUT = 30.0

log = logging.getLogger(__name__)


class KeptStream:
    """Every message of every conversation of one user, recorded as received by stream."""

    def __init__(self, pool: UserPool, user: User) -> None:
        self._pool = pool
        self._user = user
        self._lock = threading.Lock()
        self._closers: list[Any] = []
        self._wanted = False

    def open(self) -> None:
        """Open the stream (once it is ready, messages flow); kept open until :meth:`close`."""
        with self._lock:
            self._wanted = True
        self._start()

    def close(self) -> None:
        with self._lock:
            self._wanted = False
            closers, self._closers = self._closers, []
        for closer in closers:
            closer.end()

    @property
    def wanted(self) -> bool:
        with self._lock:
            return self._wanted

    def _start(self) -> None:
        user = self._user
        callback = self._pool.message_callback(user, on_end=self._ended)
        conversations = user.client.conversations()
        closer = user.call("stream", lambda: conversations.stream_all_messages(callback, None))
        user.call("stream_ready", closer.wait_for_ready, timeout=READY_TIMEOUT)
        with self._lock:
            # Streams libxmtp ended by itself are done with; only open ones need ending later.
            self._closers = [c for c in self._closers if not c.is_closed()] + [closer]
            wanted = self._wanted
        if not wanted:  # closed while this one was opening
            closer.end()

    def _ended(self, reason: str) -> None:
        """libxmtp ended one of our streams by itself (called once per stream, on its thread)."""
        if not self.wanted:
            return
        self._pool.history.failed(self._user.name, "stream_broken", reason)
        threading.Thread(target=self._reopen, name=f"stream-{self._user.name}", daemon=True).start()

    def _reopen(self) -> None:
        def opened() -> bool:
            if self.wanted:
                self._start()
            return True

        try:
            wait_until(
                opened,
                bool,
                timeout=REOPEN_TIMEOUT,
                description=f"{self._user.name}'s message stream to open again",
                first_interval=1.0,
                max_interval=5.0,
                swallow=(E2EError,),
            )
        except WaitTimeout as error:
            log.error("%s: message stream not opened again: %s", self._user.name, error)
