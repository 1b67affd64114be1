"""Benchmark: time-to-ready of an environment with 1, 3 and 5 nodes.

Time-to-ready = from "create environment" until every node serves: base services up (anvil,
toxiproxy, redis), nodes registered on chain, databases created, processes or containers started
and answering health checks.  Reported as the median of ``--repeat`` runs, with the phase
breakdown of the median run.

    .venv/bin/python bench/bring_up.py --runtime local --repeat 5
    .venv/bin/python bench/bring_up.py --runtime docker --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from environments import bench_config, bench_environment
from recording import save, summarize

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.runtime.registry import RUNTIMES


def bring_up(config: RunConfig, nodes: int) -> tuple[float, dict[str, float]]:
    began = time.monotonic()
    with bench_environment(config) as (env, _):
        env.start()
        env.add_nodes(nodes)
        return time.monotonic() - began, dict(env.timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=RUNTIMES.names(), required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="1,3,5")
    args = parser.parse_args()
    config = bench_config(args.runtime)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        samples = [bring_up(config, size) for _ in range(args.repeat)]
        times = [s[0] for s in samples]
        median = statistics.median(times)
        phases = min(samples, key=lambda s: abs(s[0] - median))[1]
        results.append(
            {
                "nodes": size,
                "seconds": summarize(times),
                "phases_of_median_run": {k: round(v, 3) for k, v in phases.items()},
            }
        )
        print(f"{args.runtime}: {size} node(s) ready in {median:.2f}s (median of {args.repeat})", flush=True)
    path = save(f"bring-up-{args.runtime}", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
