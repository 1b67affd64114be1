"""What the real users of an exploration got, judged: a pure function of their sends and deliveries.

A group chat's promises to its members, checked where a member meets them (every text is unique
per plan, so a text names its send).  Violations:

* ``user-lost`` -- an acknowledged text never reached a member (other than its sender) by the end;
* ``user-duplicate`` -- a text reached a member more than once (under two message ids), whatever
  its send's outcome;
* ``user-order`` -- a member's conversation, listed as an app lists it (by the messages' sent times,
  libxmtp's default), shows two acknowledged texts of one sender in the other order than they were
  sent (each user sends one at a time, so invocation order is send order).  The order a member
  *received* them in may differ without a fault of the network: libxmtp processes a message that
  lost an epoch race to a commit after later ones (docs/findings/client-stores-retried-messages-
  out-of-order.md).  Records without sent times are judged in the order received;
* ``user-phantom`` -- a member got a text no user ever sent, or under another sender than the
  one who sent it.

A send whose outcome is unknown (libxmtp returned an error) may arrive or not; it only counts
against duplicates.  Each member's lag behind each sender (first sighting - acknowledgement,
0 when the stream was faster than the sender's own call) is a statistic.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from xmtpd_e2e.explore.user_history import UserDelivery, UserSend, UsersHistory
from xmtpd_e2e.explore.violation import Violation

__all__ = ["USER_VIOLATION_KINDS", "check_users"]

USER_VIOLATION_KINDS = ("user-lost", "user-duplicate", "user-order", "user-phantom")
_EXAMPLES = 20

_DESCRIPTIONS = {
    "user-lost": "acknowledged text(s) never reached a member [member, sender, text]",
    "user-duplicate": "text(s) reached a member more than once [member, sender, text, times]",
    "user-order": "text(s) listed at a member (by sent time) out of their sender's order [member, sender, after, got]",
    "user-phantom": "text(s) a member got that no user sent as that sender [member, claimed sender, text]",
}


def _by_member(users: UsersHistory) -> dict[str, list[UserDelivery]]:
    by_member: dict[str, list[UserDelivery]] = defaultdict(list)
    for delivery in users.deliveries:
        by_member[delivery.member].append(delivery)
    return by_member


def _findings(users: UsersHistory) -> dict[str, list[list[Any]]]:
    sent: dict[str, UserSend] = {s.text: s for s in users.sends}
    rank = {s.text: i for i, s in enumerate(sorted(users.sends, key=lambda s: (s.invoke, s.id)))}
    found: dict[str, list[list[Any]]] = defaultdict(list)
    by_member = _by_member(users)
    for member in sorted(users.members):
        genuine = []
        for d in by_member.get(member, []):
            origin = sent.get(d.text)
            if origin is None or origin.user != d.sender:
                found["user-phantom"].append([member, d.sender, d.text])
            else:
                genuine.append(d)
        _member(member, genuine, users.sends, rank, found)
    return found


def _member(
    member: str,
    got: list[UserDelivery],
    sends: list[UserSend],
    rank: dict[str, int],
    found: dict[str, list[list[Any]]],
) -> None:
    """Lost, duplicated and out-of-order texts at one member (``got``: what it got that was sent
    as that sender, in the order seen; ``rank``: each text's place in send order)."""
    counts = Counter(d.text for d in got)
    acknowledged = {s.text for s in sends if s.outcome == "ok"}
    for send in sends:
        if send.text in acknowledged and send.user != member and counts[send.text] == 0:
            found["user-lost"].append([member, send.user, send.text])
    senders = {d.text: d.sender for d in got}
    for text, times in sorted(counts.items()):
        if times > 1:
            found["user-duplicate"].append([member, senders[text], text, times])
    last: dict[str, str] = {}
    for d in _listed(got):
        if d.text not in acknowledged or counts[d.text] > 1:
            continue  # an unknown outcome may arrive late; a duplicate is reported as such
        before = last.get(d.sender)
        if before is not None and rank[d.text] < rank[before]:
            found["user-order"].append([member, d.sender, before, d.text])
        if before is None or rank[d.text] > rank[before]:
            last[d.sender] = d.text


def _listed(got: list[UserDelivery]) -> list[UserDelivery]:
    """A member's deliveries as its app lists them: by sent time (stable), where every one has it."""
    if any(d.sent_at is None for d in got):
        return got
    return sorted(got, key=lambda d: d.sent_at or 0.0)


def _lag(users: UsersHistory) -> dict[str, dict[str, dict[str, float | int]]]:
    """Member -> sender -> seconds from acknowledgement to first sighting (p50, max, count)."""
    acknowledged_at = {s.text: s.complete for s in users.sends if s.outcome == "ok" and s.complete is not None}
    delays: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    seen: set[tuple[str, str]] = set()
    for d in users.deliveries:
        at = acknowledged_at.get(d.text)
        if at is None or (d.member, d.text) in seen:
            continue
        seen.add((d.member, d.text))
        delays[d.member][d.sender].append(max(0.0, d.received_at - at))
    stats: dict[str, dict[str, dict[str, float | int]]] = {}
    for member, senders in sorted(delays.items()):
        stats[member] = {}
        for sender, values in sorted(senders.items()):
            values.sort()
            stats[member][sender] = {
                "count": len(values),
                "p50": round(values[len(values) // 2], 3),
                "max": round(values[-1], 3),
            }
    return stats


def check_users(users: UsersHistory | None) -> tuple[list[Violation], dict[str, Any]]:
    """The users' violations and statistics (see module docstring); nothing without users."""
    if users is None:
        return [], {}
    found = _findings(users)
    violations = [
        Violation(
            kind,
            f"{len(found[kind])} {_DESCRIPTIONS[kind]}: {found[kind][:3]}",
            None,
            {"count": len(found[kind]), "examples": found[kind][:_EXAMPLES]},
        )
        for kind in USER_VIOLATION_KINDS
        if found.get(kind)
    ]
    outcomes = Counter(s.outcome or "pending" for s in users.sends)
    stats = {
        "user_sends": {k: outcomes.get(k, 0) for k in ("ok", "unknown", "pending")},
        "user_deliveries": len(users.deliveries),
        "user_members": len(users.members),
        "users_caught_up_seconds": users.caught_up_seconds,
        "user_lag_seconds": _lag(users),
    }
    return violations, stats
