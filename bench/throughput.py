"""Benchmark: envelopes per second one client gets accepted, and how fast a peer catches up.

Two nodes; a client publishes group messages in batches of 10 for ``--seconds`` with 1 and then
4 concurrent publishers, directly to node 100 and through a gateway.  Records accepted
envelopes/s (acknowledged by the node or gateway) and, after the load stops, the seconds until
node 200 stores every envelope (replication catch-up).  The client signs every envelope in Python
(secp256k1), which is part of what is measured: it is what a scenario's traffic costs.  Failed
requests are counted, not fatal: with 4 concurrent publishers xmtpd v1.2.0 stalls (requests fail
after 10 s with "could not insert staged envelope: canceling statement due to statement timeout");
v1.3.0 does not (``--xmtpd-version v1.3.0``).

    .venv/bin/python bench/throughput.py --runtime local --seconds 20
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from environments import bench_config, bench_environment
from recording import save
from xmtpd_e2e.runtime.registry import RUNTIMES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=RUNTIMES.names(), required=True)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--xmtpd-version", default=None, help="installed xmtpd version (default: the pinned one)")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    config = bench_config(args.runtime, args.xmtpd_version)
    with bench_environment(config) as (env, _):
        env.start()
        env.add_nodes(2)
        env.add_gateway()
        peer = env.node(200)
        for route in ("direct", "gateway"):
            for concurrency in (1, 2, 4):
                client = env.new_client(100) if route == "direct" else env.new_client(via_gateway=0)
                before = peer.get_envelope_count(client_only=True)
                traffic = client.generate_traffic(
                    args.seconds, batch_size=10, concurrency=concurrency, continue_on_error=True
                )
                traffic.wait()
                stopped = time.monotonic()
                peer.wait_for_envelopes(before + traffic.published_count, client_only=True, timeout=300)
                catch_up = time.monotonic() - stopped
                results.append(
                    {
                        "path": route,
                        "concurrency": concurrency,
                        "batch_size": 10,
                        "envelopes": traffic.published_count,
                        "envelopes_per_second": round(traffic.rate(), 1),
                        "peer_catch_up_seconds": round(catch_up, 2),
                        "failed_requests": len(traffic.errors),
                        "first_error": str(traffic.errors[0])[:300] if traffic.errors else None,
                    }
                )
                print(
                    f"{args.runtime} {route} x{concurrency}: {traffic.rate():.0f} envelopes/s, "
                    f"node 200 caught up {catch_up:.1f}s after the load stopped, {len(traffic.errors)} failed requests",
                    flush=True,
                )
    suffix = "" if args.xmtpd_version is None else f"-{args.xmtpd_version}"
    path = save(f"throughput-{args.runtime}{suffix}", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
