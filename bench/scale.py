"""Benchmark: how a cluster's cost grows with its size (3, 10, 25, 50 nodes and a gateway).

For each size, one environment is built as the runner builds it, and measured:

* time to ready (environment started, every node registered and answering, the gateway up), with
  registration and node start as separate phases;
* replication: 100 envelopes published into the first node until all of them are stored on every
  node, then 10 into every node (all at once) until all of those are on every node;
* peak memory: the runner plus every service process of the run (resident memory, sampled each
  second); on docker also the sum of the containers' own cgroup peaks (``memory.max_usage_in_bytes``,
  which counts page cache too);
* Postgres: peak connections of the whole server and of this run's databases (pg_stat_activity),
  the most any one node database held, and the server's ``max_connections``;
* CPU seconds each service used (user + system, from /proc/<pid>/stat), per node and in total,
  and the cores each kind of service (nodes, anvil, toxiproxy, the Postgres backends serving the
  node databases, ...) uses while the ready cluster idles for ``--idle-seconds``;
* the framework's overhead: CPU of the processes the framework adds to the system under test
  (any service that is neither xmtpd -- nodes, gateways -- nor a dependency upstream's topology
  has too -- anvil, Redis, toxiproxy, the validation service, Postgres -- plus the runner, which
  here also runs this benchmark's own sampler) as a percentage of xmtpd's own CPU, idle and over
  the whole run (target: at most 5 %);
* file descriptors held by toxiproxy (every sync stream crosses it twice) and its limit;
* the 1-minute load average before and after (the machine may be shared: read numbers with it).

A size that fails is recorded with its error (what broke) and the next size still runs.

    nice -n 5 .venv/bin/python bench/scale.py --runtime local --sizes 3,10,25,50
    nice -n 5 .venv/bin/python bench/scale.py --runtime docker --sizes 3,10,25,50
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from environments import bench_config, bench_environment
from recording import save
from smoke_phases import rss_kib

from xmtpd_e2e.api.environment import Environment
from xmtpd_e2e.api.node_handle import NodeHandle
from xmtpd_e2e.config import RunConfig

SAMPLE_SECONDS = 1.0
CONVERGENCE_TIMEOUT = 600.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its waited-for children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS


def open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def open_files_limit(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                return int(line.split()[3])
    except (OSError, ValueError):
        pass
    return None


def cgroup_file(pid: int, controller: str, name: str) -> Path | None:
    """``name`` in the cgroup (v1) of ``controller`` that holds ``pid``."""
    try:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                return Path("/sys/fs/cgroup") / controller / path.lstrip("/") / name
    except OSError:
        pass
    return None


class ServicePids:
    """The host pid of every running service of an environment, by service name.

    A pid is asked of the runtime once and kept while the process lives: on docker every
    question is an API call, and asking 50 containers every second loaded the daemon enough to
    time out container starts (the benchmark must not be what breaks).
    """

    def __init__(self, env: Environment) -> None:
        self._env = env
        self._known: dict[str, int] = {}

    def __call__(self) -> dict[str, int]:
        pids: dict[str, int] = {}
        for name, service in self._env.runtime.services().items():
            pid = self._known.get(name)
            if pid is None or not Path(f"/proc/{pid}").exists():
                main_pid = getattr(service, "main_pid", None)
                pid = main_pid() if callable(main_pid) else None
            if pid:
                pids[name] = self._known[name] = int(pid)
        return pids


class ResourceSampler:
    """Samples memory, Postgres connections and toxiproxy's descriptors every second."""

    def __init__(self, env: Environment, admin_dsn: str) -> None:
        self._env = env
        self._run_id = env.run_state.run_id
        self._db_prefix = f"e2e_{self._run_id}_{env.env_id}_"
        self._admin_dsn = admin_dsn
        self.pids = ServicePids(env)
        self.peak_rss_kib = 0
        self.peak_connections_server = 0
        self.peak_connections_run = 0
        self.peak_connections_one_node = 0
        self.peak_toxiproxy_fds = 0
        self.max_connections: int | None = None
        self.errors: list[str] = []
        self._reniced: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scale-sampler", daemon=True)

    def __enter__(self) -> ResourceSampler:
        with psycopg.connect(self._admin_dsn, autocommit=True) as conn:
            row = conn.execute("SHOW max_connections").fetchone()
            self.max_connections = int(row[0]) if row else None
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self._admin_dsn, autocommit=True) as conn:
            while not self._stop.wait(SAMPLE_SECONDS):
                try:
                    self._sample(conn)
                except Exception as error:  # a failed sample must not end the measurement
                    if len(self.errors) < 5:
                        self.errors.append(repr(error))

    def _share_niceness(self, tasks: list[int]) -> None:
        """The Postgres processes serving this run's nodes, and on docker every thread of its
        containers, do the run's work: they run at the benchmark's own niceness (``nice -n 5``),
        so others sharing the machine keep priority."""
        niceness = os.getpriority(os.PRIO_PROCESS, 0)
        for pid in set(tasks) - self._reniced:
            try:
                os.setpriority(os.PRIO_PROCESS, pid, niceness)
            except OSError:
                continue
            self._reniced.add(pid)

    def _sample(self, conn: psycopg.Connection[Any]) -> None:
        services = self.pids()
        total = rss_kib(os.getpid()) + sum(rss_kib(pid) for pid in services.values())
        self.peak_rss_kib = max(self.peak_rss_kib, total)
        rows = conn.execute(
            "SELECT datname, count(*), array_agg(pid) FROM pg_stat_activity GROUP BY datname"
        ).fetchall()
        self.peak_connections_server = max(self.peak_connections_server, sum(int(n) for _, n, _ in rows))
        ours = [int(n) for name, n, _ in rows if name and str(name).startswith(self._db_prefix)]
        self._share_niceness(
            [int(p) for name, _, pids in rows if name and str(name).startswith(self._db_prefix) for p in pids]
        )
        self.peak_connections_run = max(self.peak_connections_run, sum(ours))
        self.peak_connections_one_node = max(self.peak_connections_one_node, max(ours, default=0))
        if self._env.runtime.name == "docker":  # containers start at the daemon's niceness, not ours
            self._share_niceness(
                [
                    int(task.name)
                    for pid in services.values()
                    for task in Path(f"/proc/{pid}/task").glob("*")
                    if task.name.isdigit()
                ]
            )
        toxiproxy = services.get("toxiproxy")
        if toxiproxy:
            self.peak_toxiproxy_fds = max(self.peak_toxiproxy_fds, open_files(toxiproxy))


def container_memory_peaks_mib(pids: Iterable[int]) -> float:
    """Sum of the containers' own peak memory (cgroup v1 ``memory.max_usage_in_bytes``)."""
    total = 0
    for pid in pids:
        path = cgroup_file(pid, "memory", "memory.max_usage_in_bytes")
        try:
            total += int(path.read_text()) if path else 0
        except (OSError, ValueError):
            pass
    return round(total / 2**20, 1)


def wait_everywhere(nodes: list[NodeHandle], expected: set[tuple[int, int]], timeout: float) -> dict[str, Any]:
    """Seconds until every node stores every envelope of ``expected``; what was missing if not."""
    began = time.monotonic()
    pending = {node.id: node for node in nodes}
    done_at: dict[int, float] = {}
    missing: dict[int, int] = {}
    while pending and time.monotonic() - began < timeout:
        for node_id, node in list(pending.items()):
            lacking = len(expected - node.observer.envelope_keys(client_only=True))
            if lacking:
                missing[node_id] = lacking
            else:
                missing.pop(node_id, None)
                done_at[node_id] = time.monotonic() - began
                del pending[node_id]
        if pending:
            time.sleep(0.2)
    result: dict[str, Any] = {"envelopes": len(expected), "converged": not pending}
    if done_at:
        result["seconds_until_last_node"] = round(max(done_at.values()), 2)
        result["seconds_until_first_node"] = round(min(done_at.values()), 2)
    if pending:
        result["missing_after_timeout"] = {str(n): missing.get(n, len(expected)) for n in sorted(pending)}
    return result


def publish_into(env: Environment, nodes: list[NodeHandle], count: int, name: str) -> dict[str, Any]:
    """``count`` envelopes into each node of ``nodes`` at once (one client per node, batches of
    10): the seconds it took and which publishes failed (a client stops at its first failure;
    the envelopes acknowledged are still checked for convergence)."""
    clients = [env.new_client(node.id, name=f"{name}-{node.id}") for node in nodes]
    began = time.monotonic()
    failures: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=min(len(clients), 16), thread_name_prefix="scale-publish") as pool:
        futures = {pool.submit(c.publish_envelopes, count, batch_size=10): c for c in clients}
        for future, client in futures.items():
            error = future.exception()
            if error is not None:
                failures[client.name] = str(error)[:300]
    result: dict[str, Any] = {"seconds": round(time.monotonic() - began, 2), "failed_publishes": len(failures)}
    if failures:
        result["failures"] = dict(list(failures.items())[:5])
    return result


DEPENDENCIES = ("anvil", "redis", "toxiproxy", "validation", "postgres_backends")
"""Services upstream's topology has too: neither xmtpd nor framework overhead."""


def overhead(cpu: dict[str, float]) -> dict[str, Any]:
    """Framework CPU against xmtpd's, from CPU by service name (seconds or cores alike)."""
    xmtpd = sum(v for k, v in cpu.items() if k == "nodes" or k.startswith(("node-", "gateway-")))
    framework = {
        k: v
        for k, v in cpu.items()
        if not (k == "nodes" or k.startswith(("node-", "gateway-", *DEPENDENCIES)))
        and k != "database_transactions_per_second"
    }
    relays = sum(v for k, v in framework.items() if k != "runner")
    result: dict[str, Any] = {"xmtpd": round(xmtpd, 3), "framework_processes": framework}
    if xmtpd > 0:
        result["framework_percent_of_xmtpd"] = round(100 * sum(framework.values()) / xmtpd, 1)
        result["framework_services_percent_of_xmtpd"] = round(100 * relays / xmtpd, 1)
    return result


def cpu_by_service(pids: dict[str, int]) -> dict[str, Any]:
    seconds = {name: round(cpu_seconds(pid), 2) for name, pid in pids.items()}
    nodes = [v for k, v in seconds.items() if k.startswith("node-")]
    return {
        "per_node_mean": round(sum(nodes) / len(nodes), 2) if nodes else None,
        "per_node_max": max(nodes, default=None),
        "nodes_total": round(sum(nodes), 1),
        "others": {k: v for k, v in seconds.items() if not k.startswith("node-")},
        "runner": round(cpu_seconds(os.getpid()), 1),
    }


def postgres_backend_pids(admin_dsn: str, env: Environment) -> list[int]:
    """Server processes serving this environment's node databases."""
    prefix = f"e2e_{env.run_state.run_id}_{env.env_id}_"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname LIKE %s", (prefix + "%",)).fetchall()
    return [int(row[0]) for row in rows]


def transactions(admin_dsn: str, env: Environment) -> int:
    """Transactions committed so far in this environment's node databases (pg_stat_database)."""
    prefix = f"e2e_{env.run_state.run_id}_{env.env_id}_"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(xact_commit + xact_rollback), 0) FROM pg_stat_database WHERE datname LIKE %s",
            (prefix + "%",),
        ).fetchone()
    return int(row[0]) if row else 0


def idle_cores(env: Environment, sampler: ResourceSampler, admin_dsn: str, seconds: float) -> dict[str, float]:
    """CPU cores each kind of service uses while the cluster only idles (syncs, polls the chain),
    and the database transactions per second the nodes run meanwhile."""
    pids = sampler.pids()
    backends = postgres_backend_pids(admin_dsn, env)
    transactions_before = transactions(admin_dsn, env)

    def totals() -> dict[str, float]:
        kinds: dict[str, float] = {"nodes": 0.0, "postgres_backends": 0.0}
        for name, pid in pids.items():
            kind = "nodes" if name.startswith("node-") else name
            kinds[kind] = kinds.get(kind, 0.0) + cpu_seconds(pid)
        kinds["postgres_backends"] = sum(cpu_seconds(pid) for pid in backends)
        kinds["runner"] = cpu_seconds(os.getpid())
        return kinds

    before = totals()
    time.sleep(seconds)
    after = totals()
    cores = {kind: round((after[kind] - before[kind]) / seconds, 3) for kind in after}
    cores["database_transactions_per_second"] = round((transactions(admin_dsn, env) - transactions_before) / seconds)
    return cores


def keep_artifacts(env: Environment, runtime: str, size: int) -> str:
    directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"scale-artifacts-{runtime}-{size}-{env.run_state.run_id}"
    try:
        env.collect_artifacts(directory)
    except Exception as error:  # the measurement's own error matters more
        return f"could not collect artifacts: {error!r}"
    return str(directory)


def measure(config: RunConfig, size: int, idle_seconds: float) -> dict[str, Any]:
    result: dict[str, Any] = {"nodes": size, "gateways": 1, "load_average_before": os.getloadavg()[0]}
    phase = "environment"
    began = time.monotonic()
    try:
        with bench_environment(config, f"bench-scale-{size}") as (env, _):
            with ResourceSampler(env, config.postgres_dsn) as sampler:
                try:
                    env.start()
                    phase = "nodes"
                    nodes = env.add_nodes(size)
                    phase = "gateway"
                    env.add_gateway()
                    result["ready_seconds"] = round(time.monotonic() - began, 2)
                    result["phases_seconds"] = {k: round(v, 3) for k, v in env.timings.items()}
                    phase = "idle"
                    result["idle_cores"] = idle_cores(env, sampler, config.postgres_dsn, idle_seconds)
                    result["idle_overhead"] = overhead(result["idle_cores"])
                    phase = "100 into one node"
                    result["publish_100_into_one"] = publish_into(env, nodes[:1], 100, "scale-one")
                    result["replicate_100_from_one"] = wait_everywhere(
                        nodes, set(env.published.keys()), CONVERGENCE_TIMEOUT
                    )
                    phase = "10 into every node"
                    result["publish_10_into_each"] = publish_into(env, nodes, 10, "scale-each")
                    result["replicate_10_from_each"] = wait_everywhere(
                        nodes, set(env.published.keys()), CONVERGENCE_TIMEOUT
                    )
                    phase = "invariants"
                    result["invariant_violations"] = env.check_invariants()[:5]
                except Exception:
                    result["artifacts"] = keep_artifacts(env, config.runtime, size)
                    raise
                finally:
                    pids = sampler.pids()
                    result["cpu_seconds"] = cpu_by_service(pids)
                    seconds = {name: cpu_seconds(pid) for name, pid in pids.items()}
                    result["run_overhead"] = overhead({**seconds, "runner": cpu_seconds(os.getpid())})
                    toxiproxy = pids.get("toxiproxy")
                    result["toxiproxy_open_files"] = {
                        "at_end": open_files(toxiproxy) if toxiproxy else None,
                        "limit": open_files_limit(toxiproxy) if toxiproxy else None,
                    }
                    if env.runtime.name == "docker":
                        result["container_memory_peaks_mib"] = container_memory_peaks_mib(pids.values())
            phase = "teardown"
            closing = time.monotonic()
        result["teardown_seconds"] = round(time.monotonic() - closing, 2)
    except Exception as error:
        result["error"] = {
            "phase": phase,
            "message": str(error)[:2000],
            "traceback_tail": traceback.format_exc().splitlines()[-6:],
        }
    finally:
        result["peak_memory_mib"] = round(sampler.peak_rss_kib / 1024, 1) if "sampler" in locals() else None
        if "sampler" in locals():
            result["postgres_connections"] = {
                "max_connections": sampler.max_connections,
                "peak_server": sampler.peak_connections_server,
                "peak_this_run": sampler.peak_connections_run,
                "peak_one_node_database": sampler.peak_connections_one_node,
            }
            result["toxiproxy_open_files_peak"] = sampler.peak_toxiproxy_fds
            if sampler.errors:
                result["sampler_errors"] = sampler.errors
        result["wall_seconds"] = round(time.monotonic() - began, 1)
        result["load_average_after"] = os.getloadavg()[0]
    return result


def describe(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"{result['nodes']} nodes: FAILED in {result['error']['phase']}: {result['error']['message'][:300]}"
    one, each = result["replicate_100_from_one"], result["replicate_10_from_each"]
    return (
        f"{result['nodes']} nodes: ready {result['ready_seconds']}s, idle {result['idle_cores']}, 100 from one "
        f"everywhere {one.get('seconds_until_last_node')}s, 10 from each everywhere "
        f"{each.get('seconds_until_last_node')}s ({result['publish_10_into_each']['failed_publishes']} failed), "
        f"framework overhead idle {result['idle_overhead'].get('framework_percent_of_xmtpd')} % / run "
        f"{result['run_overhead'].get('framework_percent_of_xmtpd')} % of xmtpd's CPU, "
        f"peak {result['peak_memory_mib']} MiB, Postgres {result['postgres_connections']['peak_this_run']} "
        f"connections, {result['cpu_seconds']['per_node_mean']} CPU s per node; load "
        f"{result['load_average_before']:.1f} -> {result['load_average_after']:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=("local", "docker"), required=True)
    parser.add_argument("--sizes", default="3,10,25,50")
    parser.add_argument("--output", default=None, help="result name (default scale-<runtime>)")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="window measuring an idle cluster's CPU")
    args = parser.parse_args()
    config = bench_config(args.runtime)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        result = measure(config, size, args.idle_seconds)
        print(f"{args.runtime}: {describe(result)}", flush=True)
        results.append(result)
    report = {
        "note": (
            "each size ran once; the machine (2 cores) was shared with other engineers' test runs, "
            "so wall-clock numbers carry their load: see load_average_before/after of each size"
        ),
        "sizes": results,
    }
    path = save(args.output or f"scale-{args.runtime}", " ".join(["python", *sys.argv]), report)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
