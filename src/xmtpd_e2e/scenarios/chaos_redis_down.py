"""chaos-redis-down: Redis killed under gateway traffic and started again, empty.

Gateways keep their chain nonces in Redis and send group messages to nodes without it. Clients
publish group messages through the gateway while Redis is down. The scenario checks that these
publishes go on, and that everything the gateway had acknowledged is on every node afterwards.
Transactions the gateway sends to the chain (commits, identity updates) are not part of this
traffic, so what an emptied Redis does to them is not covered here.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "chaos-redis-down",
    "Redis killed for 8 s under gateway traffic, started again empty; group messages through the gateway go on",
    suites=("layers",),
    typical_seconds=30,
    setup=cluster(gateways=1),
)
def chaos_redis_down(env: Environment) -> None:
    traffic = env.new_client(via_gateway=0).generate_traffic(batch_size=5, interval=0.2)
    env.require.eventually(lambda: len(env.published), accept=lambda n: n >= 10, timeout=60, description="traffic")
    fault = env.faults.apply("redis-down")
    time.sleep(8)
    fault.heal()
    time.sleep(3)
    traffic.stop()
    env.require.is_none(traffic.error, "a group message through the gateway failed while Redis was down")
    env.wait_for_replication(timeout=120)
