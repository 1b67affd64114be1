"""chaos-node-pause: a hung node (SIGSTOP), not a dead one; the others carry on, it catches up.

A paused process keeps its sockets: the kernel still accepts connections and buffers requests for
it, but nothing answers.  Node 300 is paused while traffic goes to node 100; node 200 must keep
receiving it and node 300 must store nothing.  Then originator node 200 is paused while its
client publishes to it: the client times out, and once node 200 resumes, the client's retries
succeed.  Every acknowledged envelope ends up on every node.

Two lengths.  ``chaos-node-pause`` (fast suite) pauses node 300 for 10 s: long enough for its
peers' sync streams to it to stall with data buffered, and for node 200 to prove it keeps
receiving (replication between healthy nodes takes well under a second).
``chaos-node-pause-long`` (full suite) pauses it for 30 s, past the time a peer might give up on
a silent stream and reconnect, so the resumed node meets whatever its peers did meanwhile.
"""

from __future__ import annotations

import time

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.client.errors import PublishError
from xmtpd_e2e.runner.scenario import scenario
from xmtpd_e2e.scenarios._publishing import publish_succeeds
from xmtpd_e2e.scenarios._topology import cluster


@scenario(
    "chaos-node-pause",
    "Pause node 300 for 10 s under traffic (others keep working, it catches up), then pause an originator under its client",
    suites=("fast",),
    typical_seconds=30,
    setup=cluster(),
)
def chaos_node_pause(env: Environment) -> None:
    pause_under_traffic(env, pause_seconds=10)


@scenario(
    "chaos-node-pause-long",
    "chaos-node-pause with node 300 paused for 30 s",
    typical_seconds=60,
    setup=cluster(),
)
def chaos_node_pause_long(env: Environment) -> None:
    pause_under_traffic(env, pause_seconds=30)


def pause_under_traffic(env: Environment, *, pause_seconds: float) -> None:
    """On the standard cluster (the scenario's set-up): node 300 paused for ``pause_seconds`` under
    traffic into node 100, then originator node 200 paused under its own client; see the module
    docstring."""
    node_200, node_300 = env.node(200), env.node(300)
    env.new_client(100).publish_envelopes(5)
    env.wait_for_replication()

    node_300.pause()
    paused_at = time.monotonic()
    time.sleep(1)  # a commit node 300 sent just before it stopped still lands
    stored_before = node_300.get_envelope_count()
    traffic = env.new_client(100).generate_traffic(duration=pause_seconds - 5, batch_size=5, interval=0.2)
    traffic.wait()
    env.require.no_error(traffic.error, "publishing to node 100 must not fail while node 300 hangs")
    during = {(e.originator_node_id, e.sequence_id) for e in env.published.all() if e.originator_node_id == 100}
    env.require.eventually(
        lambda: node_200.has_envelopes(during),
        timeout=30,
        description="node 200 to keep receiving node 100's envelopes while node 300 hangs",
    )
    env.require.equal(node_300.get_envelope_count(), stored_before, "a paused node must store nothing")
    time.sleep(max(0.0, pause_seconds - (time.monotonic() - paused_at)))
    node_300.resume()
    node_300.wait_for_envelopes(len(env.published.all()), timeout=120)

    client = env.new_client(200, publish_timeout=3)
    node_200.pause()
    try:
        client.publish_envelopes(5)
    except PublishError as error:
        env.require.true(error.unreachable, f"a hung node looks unreachable to its client, got {error}")
    else:
        raise AssertionError("publishing to a paused node must time out")
    node_200.resume()
    env.require.eventually(
        lambda: publish_succeeds(client), timeout=60, description="the client's retry to succeed after node 200 resumes"
    )
    env.wait_for_replication(timeout=120)
