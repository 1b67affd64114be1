"""Benchmark: the kubernetes runtime's two ways to reach pods, by pod IP and by API port-forward.

For each access mode in turn, one environment on the local cluster (anvil, toxiproxy, redis,
Postgres and two nodes, registered and ready), then:

* ``bring_up_seconds``: environment start plus two nodes ready (the framework's readiness checks
  and registration all go through the access mode);
* ``publish``: one client publishes one envelope ``--publishes`` times in a row to node 100 over
  one connection (milliseconds per publish: median, p90);
* ``new_connection``: ``--connections`` clients each publish one envelope over a connection of its
  own (a port-forward opens a stream through the API server per connection);
* ``teardown_seconds``;
* ``smoke_seconds``: the smoke scenario's duration, run by the CLI exactly as a user runs it
  (``xmtpd-e2e run --runtime kubernetes --image-set local --test smoke --kube-access MODE``).

The local cluster must be up (``scripts/setup --kubernetes``).

    .venv/bin/python bench/kube_access.py --repeat 2 --publishes 200 --connections 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from dataclasses import replace
from collections.abc import Callable
from typing import Any

from environments import bench_config, bench_environment
from recording import save, summarize

from xmtpd_e2e.config import KUBE_ACCESS
from xmtpd_e2e.runtime.registry import KUBERNETES

MODES = tuple(mode for mode in KUBE_ACCESS if mode != "auto")


def _p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def measure(mode: str, publishes: int, connections: int) -> dict[str, Any]:
    config = replace(bench_config(KUBERNETES), kube_access=mode)
    began = time.monotonic()
    result: dict[str, Any] = {"access": mode}
    with bench_environment(config, name=f"kube-access-{mode}") as (env, _):
        env.start()
        env.add_nodes(2)
        result["bring_up_seconds"] = round(time.monotonic() - began, 2)
        result["access_in_use"] = env.runtime.describe().get("access")
        client = env.new_client(100)
        client.publish_envelopes(1)  # the connection and the payer's first envelope, not timed
        per_publish = []
        for _ in range(publishes):
            start = time.perf_counter()
            client.publish_envelopes(1)
            per_publish.append((time.perf_counter() - start) * 1000)
        result["publish_ms"] = {**summarize(per_publish, 2), "p90": round(_p90(per_publish), 2)}
        del result["publish_ms"]["samples"]
        per_connection = []
        for _ in range(connections):
            fresh = env.new_client(100)
            start = time.perf_counter()
            fresh.publish_envelopes(1)
            per_connection.append((time.perf_counter() - start) * 1000)
            fresh.close()
        result["new_connection_publish_ms"] = {**summarize(per_connection, 2), "p90": round(_p90(per_connection), 2)}
        del result["new_connection_publish_ms"]["samples"]
        closing = time.monotonic()
    result["teardown_seconds"] = round(time.monotonic() - closing, 2)
    return result


def smoke_seconds(mode: str) -> float:
    """The smoke scenario's own duration (the runner's figure) with ``--kube-access mode``."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "result.json"
        command = [
            *SMOKE_COMMAND,
            mode,
            "--artifacts",
            f"{scratch}/artifacts",
            "--output-format",
            "json",
            "--output-file",
            str(output),
        ]
        subprocess.run([sys.executable, "-m", "xmtpd_e2e.cli.main", *command], capture_output=True, check=False)
        [scenario] = json.loads(output.read_text())["scenarios"]
    if scenario["status"] != "PASS":
        raise SystemExit(f"smoke did not pass with --kube-access {mode}: {scenario.get('error')}")
    return round(float(scenario["duration_seconds"]), 2)


SMOKE_COMMAND = ("run", "--runtime", KUBERNETES, "--image-set", "local", "--test", "smoke", "--kube-access")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--publishes", type=int, default=200)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    for round_index in range(args.repeat):
        for mode in MODES if round_index % 2 == 0 else tuple(reversed(MODES)):  # alternate: load drifts
            result = measure(mode, args.publishes, args.connections)
            result["smoke_seconds"] = smoke_seconds(mode)
            print(result, flush=True)
            runs.append(result)

    def median_of(mode: str, pick: Callable[[dict[str, Any]], float]) -> float:
        return round(statistics.median(pick(r) for r in runs if r["access"] == mode), 2)

    summary = {
        mode: {
            "bring_up_seconds_median": median_of(mode, lambda r: r["bring_up_seconds"]),
            "publish_ms_median": median_of(mode, lambda r: r["publish_ms"]["median"]),
            "new_connection_publish_ms_median": median_of(mode, lambda r: r["new_connection_publish_ms"]["median"]),
            "teardown_seconds_median": median_of(mode, lambda r: r["teardown_seconds"]),
            "smoke_seconds_median": median_of(mode, lambda r: r["smoke_seconds"]),
        }
        for mode in MODES
    }
    results = {"smoke_command": "xmtpd-e2e " + " ".join(SMOKE_COMMAND) + " MODE", "summary": summary, "runs": runs}
    path = save("kubernetes-access", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
