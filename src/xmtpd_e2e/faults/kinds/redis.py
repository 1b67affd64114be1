"""Redis, which gateways keep their chain nonces in, down and back.

The environment's Redis runs without persistence (``--save ""``, ``--appendonly no``), as a cache
would. So the Redis that comes back is empty: whatever a gateway kept there (its reserved and
available nonces, ``xmtpd:<gateway>:`` keys) is gone, as after a real Redis restart without a
volume.  Gateways use Redis only for transactions they send to the chain (commits, identity
updates). Group messages go to nodes and never touch it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from xmtpd_e2e.errors import E2EError
from xmtpd_e2e.faults.capabilities import RESTART
from xmtpd_e2e.faults.controller import Piece
from xmtpd_e2e.faults.registry import FaultKind, FaultPlan, register
from xmtpd_e2e.runtime.base import RunningService, ServiceState

if TYPE_CHECKING:
    from xmtpd_e2e.api.faults import EnvironmentFaults

__all__ = ["RedisDown", "REDIS_ALIAS"]

REDIS_ALIAS = "redis"


def redis_service(faults: EnvironmentFaults) -> RunningService:
    services = faults.env.runtime.services()
    if REDIS_ALIAS not in services:
        raise E2EError("this environment runs no Redis")
    return services[REDIS_ALIAS]


@register
class RedisDown(FaultKind):
    name = "redis-down"
    description = (
        "Redis SIGKILLed; healing starts it again, empty (no persistence): gateways lose the nonces they kept there"
    )
    params = ()
    roles = frozenset({"redis", "node"})
    needs = frozenset({RESTART})

    def draw(self, rng: random.Random, target: str, aliases: Sequence[str]) -> dict[str, Any]:
        return {}  # Redis is the environment's: the node the schedule names is only where it is filed

    def plan(self, faults: EnvironmentFaults, params: Mapping[str, Any]) -> FaultPlan:
        service = redis_service(faults)
        piece = Piece(
            "redis: SIGKILL, started again empty on heal",
            lambda: service.stop(graceful=False),
            service.start,
            REDIS_ALIAS,
            present=lambda: service.state() is not ServiceState.RUNNING,
        )
        return FaultPlan([piece], (REDIS_ALIAS,), {})
