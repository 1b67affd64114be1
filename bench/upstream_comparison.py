"""Benchmark: scenarios, upstream's Go framework vs ours, on the same machine and images.

Runs each ``--test`` (default smoke and chaos-latency) ``--repeat`` times with upstream's
``xmtpd-e2e`` binary (docker only), then with ours on the docker and the local runtime, all
interleaved and against the same locally built images / binaries, and records wall times and
the ratios (one ``upstream-comparison-<test>`` result per test).  A failed upstream run is not
a missing sample: the benchmark prints why upstream failed and exits 1, so no ratio rests on
runs that did not do the work.  Upstream hard-codes its toxiproxy and
redis image names, so those two are tagged onto our local images for the duration of the run
and untagged afterwards.  Upstream runs on testcontainers-go, which here needs two settings:
no Ryuk reaper (its image cannot be pulled) and the Docker host given explicitly (it otherwise
guesses a gateway address when it finds /.dockerenv).  Without the reaper, whatever upstream
leaves behind stays: those containers and networks are counted per run, then removed.

``--upstream-bin`` is upstream's own e2e CLI (``cmd/xmtpd-e2e``), which the project cannot
provide: it first ships in xmtpd v1.3.0, which the Go module proxy refuses here (403), and
v1.2.0 has no such package; nothing of upstream is part of this project, nor any recipe that
builds it.  Without a working ``--upstream-bin`` the benchmark refuses (exit 2) and says so.

    .venv/bin/python bench/upstream_comparison.py --upstream-bin /path/to/xmtpd-e2e --repeat 3
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import docker
import psycopg
from recording import save, summarize

from xmtpd_e2e.config import UPSTREAM_IMAGES, RunConfig, local_images


UPSTREAM_ENV = {"TESTCONTAINERS_RYUK_DISABLED": "true", "TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1"}
UPSTREAM_LABEL = "org.testcontainers=true"
UPSTREAM_DATABASE = re.compile(r"^e2e_(node|gateway)_\d+$")
UPSTREAM_NETWORK = re.compile(r"^xmtpd-e2e-[a-z-]+-\d+$")  # upstream's per-test network names
DEFAULT_TESTS = "smoke,chaos-latency"
NO_UPSTREAM = (
    "upstream comparison refused: no upstream framework binary.  Upstream's Go e2e framework "
    "(cmd/xmtpd-e2e, pkg/e2e) first ships in xmtpd v1.3.0; the Go module proxy refuses v1.3.0 here "
    "(403 Forbidden) and `go install github.com/xmtp/xmtpd/cmd/xmtpd-e2e@v1.2.0` fails ('does not "
    "contain package'), and this project neither ships nor builds upstream's source.  To compare, "
    "pass --upstream-bin (or XMTPD_E2E_UPSTREAM_BIN to `make bench`) with an xmtpd-e2e binary "
    "built from the xmtpd v1.3.0 tag."
)


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, bool, str]:
    began = time.monotonic()
    completed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    return time.monotonic() - began, completed.returncode == 0, (completed.stderr + completed.stdout)[-1500:]


def refuse_without_upstream(binary: Path | None) -> Path:
    """The upstream binary if it can run; otherwise exit 2 with what is missing and what to do."""
    problem = None
    if binary is None:
        problem = NO_UPSTREAM
    elif not binary.is_file() or not os.access(binary, os.X_OK):
        problem = f"upstream comparison refused: --upstream-bin {binary} is not an executable file.\n{NO_UPSTREAM}"
    if problem is not None:
        print(problem, file=sys.stderr)
        sys.exit(2)
    assert binary is not None
    return binary


def remove_upstream_leftovers(client: docker.DockerClient) -> int:
    """Containers, networks and databases an upstream run left behind (counted, then removed).

    Upstream names databases by alias only (``e2e_node_100``) and drops them before a test, never
    after; so they always remain, and two concurrent upstream runs would share them.
    """
    with psycopg.connect(RunConfig().postgres_dsn, autocommit=True) as conn:
        names = [
            row[0]
            for row in conn.execute("SELECT datname FROM pg_database").fetchall()
            if UPSTREAM_DATABASE.match(row[0])
        ]
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    containers = client.containers.list(all=True, filters={"label": UPSTREAM_LABEL})
    networks = [n for n in client.networks.list() if UPSTREAM_NETWORK.match(n.name)]
    for container in containers:
        container.remove(force=True)
    for network in networks:
        network.remove()
    return len(containers) + len(networks) + len(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-bin", type=Path, default=os.environ.get("XMTPD_E2E_UPSTREAM_BIN"))
    parser.add_argument("--test", default=DEFAULT_TESTS, help="comma-separated scenarios (upstream has them too)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    upstream_bin = refuse_without_upstream(args.upstream_bin)
    tests = [t.strip() for t in args.test.split(",") if t.strip()]
    version = RunConfig().xmtpd_version
    ours = local_images(version)
    client = docker.from_env()
    borrowed = [(ours.toxiproxy, UPSTREAM_IMAGES.toxiproxy), (ours.redis, UPSTREAM_IMAGES.redis)]
    tagged = []
    samples: dict[str, dict[str, list[float]]] = {t: {} for t in tests}
    failures: dict[str, dict[str, list[str]]] = {t: {} for t in tests}
    leftovers: dict[str, list[int]] = {t: [] for t in tests}
    try:
        for source, target in borrowed:
            try:
                client.images.get(target)
            except docker.errors.ImageNotFound:
                repository, tag = target.rsplit(":", 1)
                client.images.get(source).tag(repository, tag)
                tagged.append(target)
        images = ["--xmtpd-image", ours.xmtpd, "--gateway-image", ours.gateway]
        images += ["--chain-image", ours.chain, "--cli-image", ours.cli]
        with tempfile.TemporaryDirectory() as scratch:
            ours_cmd = [sys.executable, "-m", "xmtpd_e2e.cli.main", "run", "--image-set", "local"]
            ours_cmd += ["--artifacts", scratch]
            remove_upstream_leftovers(client)
            for _ in range(args.repeat):  # interleaved, so drift on the machine hits all alike
                for test in tests:
                    commands = {
                        "upstream_go_docker": [str(upstream_bin), "run", "--test", test, *images],
                        "xmtpd_e2e_docker": [*ours_cmd, "--test", test, "--runtime", "docker"],
                        "xmtpd_e2e_local": [*ours_cmd, "--test", test, "--runtime", "local"],
                    }
                    for name, command in commands.items():
                        upstream = name.startswith("upstream")
                        seconds, ok, tail = timed(command, UPSTREAM_ENV if upstream else None)
                        if ok:
                            samples[test].setdefault(name, []).append(seconds)
                        else:
                            failures[test].setdefault(name, []).append(tail)
                        if upstream:
                            leftovers[test].append(remove_upstream_leftovers(client))
    finally:
        for target in tagged:
            client.images.remove(target, noprune=True)
        client.close()
    for test in tests:
        record(test, version, samples[test], failures[test], leftovers[test])
    failed = {test: f["upstream_go_docker"] for test, f in failures.items() if f.get("upstream_go_docker")}
    for test, tails in failed.items():
        print(
            f"UPSTREAM FAILED {len(tails)} of {args.repeat} runs of {test}; last output:\n{tails[-1]}", file=sys.stderr
        )
    ours_failed = [f"{test} ({name})" for test, f in failures.items() for name in f if name != "upstream_go_docker"]
    if ours_failed:
        print(f"our framework failed: {', '.join(ours_failed)}", file=sys.stderr)
    if failed or ours_failed:
        sys.exit(1)


def record(
    test: str, version: str, samples: dict[str, list[float]], failures: dict[str, list[str]], leftovers: list[int]
) -> None:
    results: dict[str, Any] = {
        "test": test,
        "xmtpd_version": version,
        "wall_seconds": {n: summarize(s, 2) for n, s in samples.items() if s},
        "failures": {n: f for n, f in failures.items() if f},
        "upstream_leftover_resources_per_run": leftovers,
        "load_average": os.getloadavg(),
    }
    base = results["wall_seconds"].get("upstream_go_docker", {}).get("median")
    if base and not failures.get("upstream_go_docker"):
        results["speedup_vs_upstream"] = {n: round(base / s["median"], 2) for n, s in results["wall_seconds"].items()}
    for name, stats in results["wall_seconds"].items():
        print(f"{test} {name}: {stats['median']:.1f}s (median of {len(stats['samples'])})")
    path = save(f"upstream-comparison-{test}", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
