"""Benchmark: how long a node takes to sync a peer again after that peer's Nth restart.

xmtpd v1.2.0's sync worker backs off before re-dialling a peer whose stream broke, and the wait
grows with every break and never resets (docs/findings/sync-reconnect-backoff-never-resets.md).
Two nodes; ``--breaks`` times: node 200 killed and started, one envelope published to it, and the
seconds until node 100 stores it.

    .venv/bin/python bench/sync_reconnect_backoff.py --runtime local --breaks 12
"""

from __future__ import annotations

import argparse
import sys
import time

from environments import bench_config, bench_environment
from recording import save

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.polling import wait_until


def recovery_after_restart(env: Environment, limit: float) -> float:
    """Kill and start node 200; seconds until node 100 stores a fresh envelope of node 200."""
    node = env.node(200)
    node.stop(kill=True)
    node.start()
    began = time.monotonic()
    [published] = env.new_client(200).publish_envelopes(1)
    key = (published.originator_node_id, published.sequence_id)
    observer = env.node(100).observer
    wait_until(lambda: key in observer.envelope_keys(), bool, timeout=limit, description="node 100 to sync node 200")
    return time.monotonic() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", default="local")
    parser.add_argument("--breaks", type=int, default=12)
    parser.add_argument("--limit", type=float, default=180.0, help="seconds to wait for one recovery")
    args = parser.parse_args()
    seconds: list[float] = []
    with bench_environment(bench_config(args.runtime), "sync-reconnect-backoff") as (env, _):
        env.start()
        env.add_nodes(2)
        for number in range(1, args.breaks + 1):
            seconds.append(round(recovery_after_restart(env, args.limit), 1))
            print(f"break {number}: {seconds[-1]} s", flush=True)
    command = f"python bench/sync_reconnect_backoff.py --runtime {args.runtime} --breaks {args.breaks}"
    save(f"sync-reconnect-backoff-{args.runtime}", command, {"seconds_after_each_restart": seconds})
    return 0


if __name__ == "__main__":
    sys.exit(main())
