"""Benchmark: time-to-ready of an environment with 1, 3 and 5 nodes, per runtime.

Time-to-ready = from "create environment" until every node is serving (base services up, nodes
registered on chain, databases reset, processes/containers started and ready).  Each size is
measured ``--repeat`` times and the median is reported with the individual samples and the
phase breakdown of the median run.

    .venv/bin/python bench/bring_up.py --runtime local --repeat 5
    .venv/bin/python bench/bring_up.py --runtime docker --image-set local --repeat 5
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path

from xmtpd_e2e.api.environment import create_environment
from xmtpd_e2e.config import LOCAL_IMAGES, RunConfig
from xmtpd_e2e.runner.lifecycle import EnvironmentRequest
from xmtpd_e2e.runner.scenario import ScenarioInfo
from xmtpd_e2e.runner.state import RunState


def machine() -> dict[str, object]:
    import os

    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def bring_up(config: RunConfig, nodes: int) -> tuple[float, dict[str, float]]:
    state = RunState.create(config.home)
    info = ScenarioInfo(name="bench", description="", func=lambda env: None)
    request = EnvironmentRequest(
        scenario=info, config=config, run_state=state, logger=logging.getLogger("bench"),
        artifacts_dir=Path("/tmp"),
    )
    began = time.monotonic()
    env = create_environment(request)
    try:
        env.start()
        env.add_nodes(nodes)
        elapsed = time.monotonic() - began
        return elapsed, dict(env.timings)
    finally:
        env.close()
        state.remove_file()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runtime", choices=("local", "docker"), required=True)
    parser.add_argument("--image-set", choices=("upstream", "local"), default="local")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="1,3,5")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    config = RunConfig(runtime=args.runtime)
    if args.image_set == "local":
        config = replace(config, images=LOCAL_IMAGES)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        samples = [bring_up(config, size) for _ in range(args.repeat)]
        times = [s[0] for s in samples]
        median = statistics.median(times)
        phases = min(samples, key=lambda s: abs(s[0] - median))[1]
        results.append({"nodes": size, "median_seconds": round(median, 3),
                        "samples": [round(t, 3) for t in times],
                        "phases_of_median_run": {k: round(v, 3) for k, v in phases.items()}})
        print(f"{args.runtime}: {size} node(s) ready in {median:.2f}s (median of {args.repeat})", flush=True)
    report = {"benchmark": "time-to-ready", "runtime": args.runtime, "machine": machine(),
              "date": time.strftime("%Y-%m-%d"), "results": results}
    text = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
