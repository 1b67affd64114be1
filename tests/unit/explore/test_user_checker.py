"""The users' checker on hand-made histories: a clean one passes, each anomaly is named."""

from __future__ import annotations

from xmtpd_e2e.explore.checker import VIOLATION_KINDS, check
from xmtpd_e2e.explore.final_state import FinalState, NodeState, StoredEnvelope, UsageRow
from xmtpd_e2e.explore.history import History, Operation
from xmtpd_e2e.explore.user_checker import USER_VIOLATION_KINDS, check_users
from xmtpd_e2e.explore.user_history import UserDelivery, UserSend, UsersHistory

MEMBERS = {"u0": "node-100", "u1": "node-200", "u2": "node-300"}


def sends(*spec: tuple[str, str, str]) -> list[UserSend]:
    """(user, text, outcome) in send order, one second apart, each acknowledged half a second later."""
    return [
        UserSend(i, user, text, float(i), float(i) + 0.5, outcome, "m" + text if outcome == "ok" else None)
        for i, (user, text, outcome) in enumerate(spec, start=1)
    ]


def delivered(member: str, sender: str, text: str, at: float, message_id: str | None = None) -> UserDelivery:
    return UserDelivery(member, sender, text, message_id or "m" + text, at, "stream")


SENT = sends(("u0", "u0 #0", "ok"), ("u1", "u1 #0", "ok"), ("u0", "u0 #1", "ok"))


def everyone_gets_everything() -> list[UserDelivery]:
    return [
        delivered("u1", "u0", "u0 #0", 2.0),
        delivered("u2", "u0", "u0 #0", 2.5),
        delivered("u0", "u1", "u1 #0", 3.0),
        delivered("u2", "u1", "u1 #0", 3.0),
        delivered("u1", "u0", "u0 #1", 4.0),
        delivered("u2", "u0", "u0 #1", 5.5),
    ]


def kinds(history: UsersHistory) -> dict[str, list[list[object]]]:
    violations, _ = check_users(history)
    return {v.kind: list(v.details["examples"]) for v in violations}


def test_a_clean_history_passes_with_each_members_lag() -> None:
    violations, stats = check_users(UsersHistory("g", MEMBERS, SENT, everyone_gets_everything(), 1.0))
    assert violations == []
    assert stats["user_sends"] == {"ok": 3, "unknown": 0, "pending": 0} and stats["user_deliveries"] == 6
    # u2 got u0 #0 (acknowledged at 1.5) at 2.5 and u0 #1 (acknowledged at 3.5) at 5.5.
    assert stats["user_lag_seconds"]["u2"]["u0"] == {"count": 2, "p50": 2.0, "max": 2.0}
    assert set(stats["user_lag_seconds"]) == {"u0", "u1", "u2"}


def test_an_acknowledged_text_a_member_never_got_is_lost() -> None:
    got = [d for d in everyone_gets_everything() if not (d.member == "u2" and d.text == "u0 #1")]
    assert kinds(UsersHistory("g", MEMBERS, SENT, got)) == {"user-lost": [["u2", "u0", "u0 #1"]]}


def test_a_text_under_two_message_ids_is_a_duplicate() -> None:
    got = [*everyone_gets_everything(), delivered("u1", "u0", "u0 #0", 9.0, message_id="other")]
    assert kinds(UsersHistory("g", MEMBERS, SENT, got)) == {"user-duplicate": [["u1", "u0", "u0 #0", 2]]}


def test_one_senders_texts_in_the_other_order_are_out_of_order() -> None:
    got = everyone_gets_everything()
    # u1 gets u0 #1 before u0 #0.
    got[0], got[4] = delivered("u1", "u0", "u0 #1", 2.0), delivered("u1", "u0", "u0 #0", 4.0)
    assert kinds(UsersHistory("g", MEMBERS, SENT, got)) == {"user-order": [["u1", "u0", "u0 #1", "u0 #0"]]}


def with_sent_times(got: list[UserDelivery], sent_at: dict[str, float]) -> list[UserDelivery]:
    return [UserDelivery(d.member, d.sender, d.text, d.message_id, d.received_at, d.how, sent_at[d.text]) for d in got]


def test_texts_received_out_of_order_but_listed_in_order_pass() -> None:
    """libxmtp may process a message later than one sent after it (an epoch race): the app lists
    them by sent time, and that listing is in order."""
    got = everyone_gets_everything()
    got[0], got[4] = delivered("u1", "u0", "u0 #1", 2.0), delivered("u1", "u0", "u0 #0", 4.0)
    listed = with_sent_times(got, {"u0 #0": 1.2, "u1 #0": 2.2, "u0 #1": 3.2})
    assert kinds(UsersHistory("g", MEMBERS, SENT, listed)) == {}


def test_texts_whose_sent_times_are_in_the_other_order_are_out_of_order() -> None:
    got = with_sent_times(everyone_gets_everything(), {"u0 #0": 3.2, "u1 #0": 2.2, "u0 #1": 1.2})
    found = kinds(UsersHistory("g", MEMBERS, SENT, got))
    assert found == {"user-order": [["u1", "u0", "u0 #1", "u0 #0"], ["u2", "u0", "u0 #1", "u0 #0"]]}


def test_a_text_nobody_sent_or_under_another_sender_is_a_phantom() -> None:
    got = [
        *everyone_gets_everything(),
        delivered("u0", "u2", "u2 #0", 6.0),  # u2 never sent anything
        delivered("u0", "u2", "u1 #0", 6.0, message_id="forged"),  # u1's text, claimed from u2
    ]
    found = kinds(UsersHistory("g", MEMBERS, SENT, got))
    assert found == {"user-phantom": [["u0", "u2", "u2 #0"], ["u0", "u2", "u1 #0"]]}


def test_a_send_with_an_unknown_outcome_may_arrive_late_or_never_but_never_twice() -> None:
    unknown = sends(("u0", "u0 #0", "ok"), ("u0", "u0 #1", "unknown"), ("u0", "u0 #2", "ok"))
    members = {"u0": "node-100", "u1": "node-200"}
    late = [
        delivered("u1", "u0", "u0 #0", 2.0),
        delivered("u1", "u0", "u0 #2", 4.0),
        delivered("u1", "u0", "u0 #1", 9.0, message_id="x"),
    ]
    assert kinds(UsersHistory("g", members, unknown, late)) == {}
    assert kinds(UsersHistory("g", members, unknown, late[:2])) == {}
    twice = [*late, delivered("u1", "u0", "u0 #1", 9.5, message_id="y")]
    assert kinds(UsersHistory("g", members, unknown, twice)) == {"user-duplicate": [["u1", "u0", "u0 #1", 2]]}


def test_the_verdict_carries_the_users_violations_and_round_trips_through_json() -> None:
    assert set(USER_VIOLATION_KINDS) <= set(VIOLATION_KINDS)
    users = UsersHistory("g", MEMBERS, SENT, everyone_gets_everything()[1:], 3.0)
    history = History([], [], 0.0, 10.0, 11.0, users=users)
    again = History.from_dict(history.to_dict())
    assert again.users == users
    verdict = check(again, FinalState({}, 12.0))
    assert verdict.kinds() == {"user-lost"} and verdict.stats["users_caught_up_seconds"] == 3.0
    assert "users" not in History([], [], 0.0, 1.0, 1.0).to_dict()


def test_users_envelopes_beside_the_publishers_are_neither_duplicates_nor_unpaid_usage() -> None:
    """A group topic holds many messages and a key-package topic several uploads; chain-originated
    commits (0) and identity updates (1) have no payer and no usage.  A publisher's topic stored
    twice is still a duplicate, and a node-originated envelope without a payer still disagrees
    with usage."""
    paid = [StoredEnvelope(100, 1, "aa", "0xP"), StoredEnvelope(100, 2, "00group", "0xG")]
    paid += [StoredEnvelope(100, 3, "00group", "0xG"), StoredEnvelope(200, 1, "03kp", "0xG")]
    paid += [StoredEnvelope(200, 2, "03kp", "0xG")]
    chain = [StoredEnvelope(0, 1, "00group", None), StoredEnvelope(1, 1, "02id", None)]
    usage = [UsageRow("0xP", 100, 1, 1), UsageRow("0xG", 100, 2, 2), UsageRow("0xG", 200, 2, 2)]

    def state(envelopes: list[StoredEnvelope]) -> FinalState:
        sequences: dict[int, list[int]] = {}
        for e in envelopes:
            sequences.setdefault(e.originator, []).append(e.sequence_id)
        clock = {o: max(s) for o, s in sequences.items()}
        return FinalState({100: NodeState(100, True, True, envelopes, sequences, clock, usage)}, 70.0)

    publish = Operation(1, "p0", "node-100", 1.0, ["aa"], 1.5, "ok", [(100, 1)])
    history = History([publish], [], 0.0, 60.0, 61.0)
    assert check(history, state(paid + chain)).violations == []
    twice = check(history, state([*paid, *chain, StoredEnvelope(100, 4, "aa", "0xP")]))
    assert {"duplicate", "usage-mismatch"} <= twice.kinds()
    unpaid = check(history, state([*paid, *chain, StoredEnvelope(200, 3, "03kp", None)]))
    assert unpaid.kinds() == {"usage-mismatch"}, unpaid.violations
