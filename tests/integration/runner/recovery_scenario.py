"""A scenario for the recovery-time test: node 200 partitioned from node 100 while a client
publishes to 100, healed through the public API, read through ``node.reader()``."""

from __future__ import annotations

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.runner.scenario import scenario


@scenario("partition-heal-recovery", "node 200 partitioned while node 100 takes envelopes, then healed")
def partition_heal_recovery(env: Environment) -> None:
    env.add_nodes(2)
    client = env.new_client(100)
    client.publish_envelopes(3)
    env.node(200).reader().close()  # a reader of node 200: its recovery also waits for what 200 serves
    env.wait_for_replication(timeout=120)
    env.partition({200})
    client.publish_envelopes(5)
    env.heal()
    env.wait_for_replication(timeout=120)
