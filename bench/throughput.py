"""Benchmark: envelopes per second one client gets accepted, and how fast a peer catches up.

Two nodes; a client publishes group messages in batches of 10 for ``--seconds`` with 1 and then
4 concurrent publishers, directly to node 100 and through a gateway.  Records accepted
envelopes/s (acknowledged by the node or gateway) and, after the load stops, the seconds until
node 200 stores every envelope (replication catch-up).  The client signs every envelope in Python
(secp256k1), which is part of what is measured: it is what a scenario's traffic costs.

    .venv/bin/python bench/throughput.py --runtime local --seconds 20
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from recording import save

from xmtpd_e2e.api.environment import create_environment
from xmtpd_e2e.config import RunConfig, local_images
from xmtpd_e2e.runner.lifecycle import EnvironmentRequest
from xmtpd_e2e.runner.scenario import ScenarioInfo
from xmtpd_e2e.runner.state import RunState


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=("local", "docker"), required=True)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    config = RunConfig(runtime=args.runtime)
    if args.runtime == "docker":
        config = replace(config, images=local_images(config.xmtpd_version))
    state = RunState.create(config.home)
    info = ScenarioInfo(name="bench", description="", func=lambda env: None)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        env = create_environment(EnvironmentRequest(info, config, state, logging.getLogger("bench"), Path(scratch)))
        try:
            env.start()
            env.add_nodes(2)
            env.add_gateway()
            peer = env.node(200)
            for path in ("direct", "gateway"):
                for concurrency in (1, 4):
                    client = env.new_client(100) if path == "direct" else env.new_client(via_gateway=0)
                    before = peer.get_envelope_count(client_only=True)
                    traffic = client.generate_traffic(args.seconds, batch_size=10, concurrency=concurrency)
                    traffic.wait()
                    if traffic.error is not None:
                        raise SystemExit(f"{path} traffic failed: {traffic.error}")
                    stopped = time.monotonic()
                    peer.wait_for_envelopes(before + traffic.published_count, client_only=True, timeout=300)
                    catch_up = time.monotonic() - stopped
                    results.append({"path": path, "concurrency": concurrency, "batch_size": 10,
                                    "envelopes": traffic.published_count,
                                    "envelopes_per_second": round(traffic.rate(), 1),
                                    "peer_catch_up_seconds": round(catch_up, 2)})
                    print(f"{args.runtime} {path} x{concurrency}: {traffic.rate():.0f} envelopes/s, "
                          f"node 200 caught up {catch_up:.1f}s after the load stopped", flush=True)
        finally:
            env.close()
            state.remove_file()
    path = save(f"throughput-{args.runtime}", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
