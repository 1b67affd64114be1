import pytest

from xmtpd_e2e.users.history import ReceivedMessage, UserHistory


def _message(user: str, message_id: str, received_at: float = 12.0) -> ReceivedMessage:
    return ReceivedMessage(
        user=user,
        conversation="c1",
        message_id=message_id,
        sender_inbox="inbox-b",
        sender="bob",
        text="hi",
        sent_at=10.0,
        received_at=received_at,
        how="sync",
    )


def test_a_message_counts_once_per_user_at_its_first_sighting() -> None:
    history = UserHistory()
    assert history.received(_message("alice", "m1"))
    assert not history.received(_message("alice", "m1", received_at=20.0))
    assert history.received(_message("carol", "m1"))
    assert [m.received_at for m in history.messages("alice")] == [12.0]
    assert history.messages("alice")[0].latency == 2.0
    assert len(history.messages()) == 2


def test_an_operation_records_its_duration_or_its_error() -> None:
    history = UserHistory()
    with history.operation("alice", "send", text="hi"):
        pass
    with pytest.raises(ValueError), history.operation("alice", "sync"):
        raise ValueError("node-100 unreachable")
    sent, synced = history.operations("alice")
    assert sent.ok and sent.detail == {"text": "hi"}
    assert not synced.ok and synced.error == "node-100 unreachable"
    assert history.to_dict()["operations"][1]["ok"] is False


def test_lanes_say_per_user_what_it_sent_received_and_failed_at() -> None:
    history = UserHistory()
    with history.operation("bob", "send", text="hi"):
        pass
    with pytest.raises(RuntimeError), history.operation("bob", "sync"):
        raise RuntimeError("node-200 down")
    history.received(_message("alice", "m1"))
    lanes = history.lanes()
    assert [s["text"] for s in lanes["bob"]["sent"]] == ["hi"]
    assert [f["kind"] for f in lanes["bob"]["failed"]] == ["sync"]
    assert lanes["alice"]["received"][0] == {"at": 12.0, "from": "bob", "text": "hi", "latency": 2.0, "how": "sync"}
