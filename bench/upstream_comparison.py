"""Benchmark: one scenario, upstream's Go framework vs ours, on the same machine and images.

Runs ``--test`` (default smoke) ``--repeat`` times with upstream's ``xmtpd-e2e`` binary (docker
only), then with ours on the docker and the local runtime, all against the same locally built
images / binaries, and records wall times and the ratios.  Upstream hard-codes its toxiproxy and
redis image names, so those two are tagged onto our local images for the duration of the run
and untagged afterwards.  Upstream runs on testcontainers-go, which here needs two settings:
no Ryuk reaper (its image cannot be pulled) and the Docker host given explicitly (it otherwise
guesses a gateway address when it finds /.dockerenv).  Without the reaper, whatever upstream
leaves behind stays: those containers and networks are counted per run, then removed.

``--upstream-bin`` is upstream's own e2e CLI (``cmd/xmtpd-e2e`` in an xmtpd v1.3.0 checkout,
built with ``go build``); nothing of upstream is part of this project.

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


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, bool, str]:
    began = time.monotonic()
    completed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    return time.monotonic() - began, completed.returncode == 0, (completed.stderr + completed.stdout)[-1500:]


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
    parser.add_argument("--upstream-bin", type=Path, required=True)
    parser.add_argument("--test", default="smoke")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    version = RunConfig().xmtpd_version
    ours = local_images(version)
    client = docker.from_env()
    borrowed = [(ours.toxiproxy, UPSTREAM_IMAGES.toxiproxy), (ours.redis, UPSTREAM_IMAGES.redis)]
    tagged = []
    try:
        for source, target in borrowed:
            try:
                client.images.get(target)
            except docker.errors.ImageNotFound:
                repository, tag = target.rsplit(":", 1)
                client.images.get(source).tag(repository, tag)
                tagged.append(target)
        upstream_cmd = [
            str(args.upstream_bin),
            "run",
            "--test",
            args.test,
            "--xmtpd-image",
            ours.xmtpd,
            "--gateway-image",
            ours.gateway,
            "--chain-image",
            ours.chain,
            "--cli-image",
            ours.cli,
        ]
        with tempfile.TemporaryDirectory() as scratch:
            ours_cmd = [
                sys.executable,
                "-m",
                "xmtpd_e2e.cli.main",
                "run",
                "--test",
                args.test,
                "--image-set",
                "local",
                "--artifacts",
                scratch,
            ]
            commands = {
                "upstream_go_docker": upstream_cmd,
                "xmtpd_e2e_docker": [*ours_cmd, "--runtime", "docker"],
                "xmtpd_e2e_local": [*ours_cmd, "--runtime", "local"],
            }
            samples: dict[str, list[float]] = {name: [] for name in commands}
            failures: dict[str, list[str]] = {name: [] for name in commands}
            leftovers: list[int] = []
            remove_upstream_leftovers(client)
            for _ in range(args.repeat):  # interleaved, so drift on the machine hits all alike
                for name, command in commands.items():
                    upstream = name.startswith("upstream")
                    seconds, ok, tail = timed(command, UPSTREAM_ENV if upstream else None)
                    if ok:
                        samples[name].append(seconds)
                    else:
                        failures[name].append(tail)
                    if upstream:
                        leftovers.append(remove_upstream_leftovers(client))
    finally:
        for target in tagged:
            client.images.remove(target, noprune=True)
        client.close()
    results: dict[str, Any] = {
        "test": args.test,
        "xmtpd_version": version,
        "wall_seconds": {n: summarize(s, 2) for n, s in samples.items() if s},
        "failures": {n: f for n, f in failures.items() if f},
        "upstream_leftover_resources_per_run": leftovers,
    }
    base = results["wall_seconds"].get("upstream_go_docker", {}).get("median")
    if base:
        results["speedup_vs_upstream"] = {n: round(base / s["median"], 2) for n, s in results["wall_seconds"].items()}
    for name, stats in results["wall_seconds"].items():
        print(f"{name}: {stats['median']:.1f}s (median of {len(stats['samples'])})")
    path = save(f"upstream-comparison-{args.test}", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
