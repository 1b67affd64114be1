"""Benchmark: the smoke scenario's wall time by phase, and the whole run's peak memory.

Phases: environment (anvil, toxiproxy, redis, databases), cluster (3 nodes + 1 gateway,
registered and ready), publish (10 envelopes to node 100), replication (all 10 on every node),
invariants (the runner's global check) and teardown.  Memory is sampled every 0.25 s as the sum
of resident memory of the runner process and every service process of the run (host processes
on the local runtime; the containers' processes, seen from the host, on docker -- the Docker
daemon and its shims are not counted).

    .venv/bin/python bench/smoke_phases.py --runtime local --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import docker
from environments import bench_config, bench_environment
from recording import save, summarize

from xmtpd_e2e.config import RunConfig
from xmtpd_e2e.runtime.labels import RUN as RUN_LABEL
from xmtpd_e2e.runtime.processes import processes_of_run
from xmtpd_e2e.scenarios._topology import standard_cluster
from xmtpd_e2e.runtime.registry import DOCKER, LOCAL


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def service_pids(runtime: str, run_id: str, client: docker.DockerClient | None) -> list[int]:
    if runtime == LOCAL:
        return processes_of_run(run_id)
    assert client is not None
    containers = client.containers.list(filters={"label": f"{RUN_LABEL}={run_id}"})
    return [int(c.attrs["State"]["Pid"]) for c in containers if c.attrs["State"].get("Pid")]


class MemorySampler:
    def __init__(self, runtime: str, run_id: str) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._client = docker.from_env() if runtime == DOCKER else None
        self._pids: Callable[[], list[int]] = lambda: service_pids(runtime, run_id, self._client)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import os

        while not self._stop.wait(0.25):
            total = rss_kib(os.getpid()) + sum(rss_kib(pid) for pid in self._pids())
            self.peak_kib = max(self.peak_kib, total)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._client is not None:
            self._client.close()


def one_smoke(config: RunConfig) -> tuple[dict[str, float], float]:
    phases: dict[str, float] = {}
    mark = time.monotonic()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases[name] = now - mark
        mark = now

    with (
        bench_environment(config, "bench-smoke") as (env, state),
        MemorySampler(config.runtime, state.run_id) as memory,
    ):
        env.start()
        lap("environment")
        nodes, _ = standard_cluster(env)
        lap("cluster")
        env.new_client(100).publish_envelopes(10)
        lap("publish")
        for node in nodes:
            node.wait_for_envelopes(10, client_only=True)
        env.wait_for_replication()
        lap("replication")
        violations = env.check_invariants()
        if violations:
            raise SystemExit(f"invariants violated: {violations}")
        lap("invariants")
    lap("teardown")
    phases["total"] = sum(phases.values())
    return phases, memory.peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=(LOCAL, DOCKER), required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    config = bench_config(args.runtime)
    runs = [one_smoke(config) for _ in range(args.repeat)]
    names = list(runs[0][0])
    results = {
        "phases_seconds": {name: summarize([r[0][name] for r in runs]) for name in names},
        "peak_memory_mib": summarize([r[1] for r in runs], 1),
    }
    total = results["phases_seconds"]["total"]["median"]
    print(
        f"{args.runtime}: smoke {total:.1f}s, "
        + ", ".join(f"{n} {results['phases_seconds'][n]['median']:.2f}s" for n in names if n != "total")
        + f"; peak memory {statistics.median(r[1] for r in runs):.0f} MiB (medians of {args.repeat})"
    )
    path = save(f"smoke-{args.runtime}", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
