"""Scenarios over a deliberately broken cluster: node 300 never pulls from its peers.

Loaded with ``--scenarios``; they exist to prove that a real replication failure is reported as
a FAIL that names the node and the envelopes it lacks, whether a scenario's own wait notices it
or only the runner's global invariants do.
"""

from __future__ import annotations

from xmtpd_e2e import Environment, scenario


def _cluster_with_a_deaf_node(env: Environment) -> None:
    env.add_nodes(2)
    env.add_node(env={"XMTPD_SYNC_ENABLE": "false"})
    env.new_client(100).publish_envelopes(10)


@scenario("broken-wait", "node 300 has sync disabled; the scenario waits for it", timeout_seconds=300)
def broken_wait(env: Environment) -> None:
    _cluster_with_a_deaf_node(env)
    env.node(200).wait_for_envelopes(10, client_only=True)
    env.node(300).wait_for_envelopes(10, client_only=True, timeout=15)


@scenario("broken-invariants", "node 300 has sync disabled; only the invariants look", timeout_seconds=300)
def broken_invariants(env: Environment) -> None:
    _cluster_with_a_deaf_node(env)
