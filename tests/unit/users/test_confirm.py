from itertools import count

import pytest

from xmtpd_e2e.users import confirm as confirming
from xmtpd_e2e.users.errors import UserError, failed_call
from xmtpd_e2e.users.history import UserHistory

GAVE_UP = "[GroupError::SyncFailedToWait] Group error: Sync failed to wait for intent"


class _User:
    """The part of a User that confirm uses: its name, the history and its error wording."""

    name = "alice"

    def __init__(self) -> None:
        self.history = UserHistory()

    def error(self, operation: str, detail: str) -> UserError:
        return UserError(self.name, operation, detail, failed_call(detail, gateway="gateway-0", node="node-100"))


def test_only_libxmtps_gave_up_waiting_is_finished_by_syncing() -> None:
    user = _User()
    assert confirming.gave_up_waiting(user.error("send", GAVE_UP))
    assert not confirming.gave_up_waiting(user.error("send", "PayerApi/PublishClientEnvelopes: Internal error"))


def test_confirm_returns_once_the_outcome_is_visible_and_records_it() -> None:
    user = _User()
    attempts = count(1)
    found = confirming.confirm(
        user,  # type: ignore[arg-type]
        "send",
        user.error("send", GAVE_UP),
        lambda: "m1" if next(attempts) >= 3 else None,
        "'hi' published",
    )
    assert found == "m1"
    (record,) = user.history.operations("alice", "send_confirm")
    assert record.ok and record.detail == {"awaited": "'hi' published"}


def test_confirm_fails_with_libxmtps_error_and_what_was_awaited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(confirming, "CONFIRM_TIMEOUT", 0.2)
    user = _User()
    with pytest.raises(UserError) as raised:
        confirming.confirm(user, "send", user.error("send", GAVE_UP), lambda: None, "'hi' published")  # type: ignore[arg-type]
    assert "Sync failed to wait for intent" in str(raised.value) and "'hi' published" in str(raised.value)
    assert not user.history.operations("alice", "send_confirm")[0].ok
