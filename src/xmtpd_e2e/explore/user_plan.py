"""The real-user part of an exploration plan: who the users are and when each sends a text.

Opt-in (``explore --users N``, default 0): a plan without users is exactly what it was before
users existed, so recorded seeds replay unchanged.  With users, the users and their sends are
drawn from their own generator (seeded from the seed), so the rest of the seed's plan -- cluster
size, publishers, readers, faults -- is the plan the same seed draws without users; the plan only
gains what users need: a gateway (they write through ``gateway-0``) and
``XMTPD_API_ORIGINATOR_CACHE_TTL=100ms`` on every node (with the default 5 minutes a fresh
cluster hides the group's chain-originated commits from every client:
docs/findings/originator-cache-hides-new-originators.md).

Everything here is pure, like :mod:`xmtpd_e2e.explore.schedule`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "UserSpec",
    "UserSendSpec",
    "USER_NODE_ENV",
    "USER_GATEWAY",
    "SEND_INTERVALS",
    "draw_users",
    "users_to_dict",
    "users_from_dict",
]

USER_NODE_ENV: Mapping[str, str] = {"XMTPD_API_ORIGINATOR_CACHE_TTL": "100ms"}
USER_GATEWAY = 0
"""Users write through this gateway (``gateway-0``)."""
SEND_INTERVALS = (2.0, 3.0, 5.0)
"""Mean seconds between one user's sends.  A user sends one text at a time, so a send that takes
longer than the gap delays the next, as it would for a person waiting for it."""


@dataclass(frozen=True)
class UserSpec:
    """A real XMTP user (libxmtp client) reading from ``node``; every user is in one group."""

    name: str
    node: str
    """``node-<id>``."""


@dataclass(frozen=True)
class UserSendSpec:
    """``user`` sends ``text`` to the group ``at`` seconds into the workload."""

    user: str
    at: float
    text: str


def draw_users(
    seed: int, count: int, aliases: Sequence[str], duration: float
) -> tuple[tuple[UserSpec, ...], tuple[UserSendSpec, ...]]:
    """``count`` users spread over the nodes (different nodes while there are enough), and each
    user's sends: a steady rate drawn per user, jittered, over the whole workload."""
    if count <= 0:
        return (), ()
    rng = random.Random(f"{seed}/users")
    offset = rng.randrange(len(aliases))
    users = tuple(UserSpec(f"u{i}", aliases[(offset + i) % len(aliases)]) for i in range(count))
    sends: list[UserSendSpec] = []
    for user in users:
        interval = rng.choice(SEND_INTERVALS)
        at = round(rng.uniform(0.0, interval), 1)
        number = 0
        while at < duration:
            sends.append(UserSendSpec(user.name, at, f"{user.name} #{number}"))
            number += 1
            at = round(at + rng.uniform(0.5 * interval, 1.5 * interval), 1)
    return users, tuple(sorted(sends, key=lambda s: (s.at, s.user)))


def users_to_dict(users: Sequence[UserSpec], sends: Sequence[UserSendSpec]) -> dict[str, Any]:
    return {
        "users": [{"name": u.name, "node": u.node} for u in users],
        "user_sends": [{"user": s.user, "at": s.at, "text": s.text} for s in sends],
    }


def users_from_dict(data: Mapping[str, Any]) -> tuple[tuple[UserSpec, ...], tuple[UserSendSpec, ...]]:
    """The users and sends of a plan; a send by a user the plan does not have is an error."""
    users = tuple(UserSpec(str(u["name"]), str(u["node"])) for u in data.get("users", []))
    sends = tuple(UserSendSpec(str(s["user"]), float(s["at"]), str(s["text"])) for s in data.get("user_sends", []))
    names = {u.name for u in users}
    unknown = sorted({s.user for s in sends} - names)
    if unknown:
        raise ValueError(f"user_sends name user(s) {', '.join(unknown)} that the plan's users do not include")
    return users, sends
