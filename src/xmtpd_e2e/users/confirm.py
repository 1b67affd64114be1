"""Finishing what libxmtp stopped waiting for.

libxmtp publishes a message or commit, then syncs at most 3 times (about half a second) until it
reads it back, and says ``Sync failed to wait for intent`` when that was too short -- e.g. while
other members' commits are being merged on a loaded machine.  The intent stays queued and later
syncs publish and confirm it.  On that error only, the adapter syncs on until the outcome is
visible (``CONFIRM_TIMEOUT``), recorded as ``<operation>_confirm``; if it never is, the operation
fails with libxmtp's error and what was awaited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from xmtpd_e2e.errors import WaitTimeout
from xmtpd_e2e.polling import wait_until
from xmtpd_e2e.users.errors import UserError

if TYPE_CHECKING:
    from xmtpd_e2e.users.user import User

__all__ = ["INTENT_WAIT_GAVE_UP", "CONFIRM_TIMEOUT", "gave_up_waiting", "confirm"]

T = TypeVar("T")
INTENT_WAIT_GAVE_UP = "Sync failed to wait for intent"
CONFIRM_TIMEOUT = 60.0


def gave_up_waiting(error: UserError) -> bool:
    return INTENT_WAIT_GAVE_UP in error.detail


def confirm(user: User, operation: str, gave_up: UserError, probe: Callable[[], T | None], what: str) -> T:
    """``probe()`` once it is not None (it syncs and looks); UserError when it never is."""
    with user.history.operation(user.name, f"{operation}_confirm", awaited=what):
        try:
            found = wait_until(
                probe, lambda value: value is not None, timeout=CONFIRM_TIMEOUT, description=what, swallow=(UserError,)
            )
        except WaitTimeout as timeout:
            raise user.error(operation, f"{gave_up.detail}; then {timeout}") from None
    assert found is not None
    return found
