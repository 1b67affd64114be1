"""Benchmark: the machine's CPU for one container's life on the docker runtime's engine.

Every docker environment creates, starts and removes a container per service (8 for 3 nodes and
a gateway); this measures what one such life costs the whole machine (dockerd, containerd, the
shim, runc, the kernel -- busy ticks of ``/proc/stat``), the way the runtime makes them: toxiproxy's
image (the smallest of the set), on a bridge network of its own, with and without a published
port, and joined to another container's network (how a service joins its network holder).
Everything is labelled and removed afterwards.

    .venv/bin/python bench/container_cost.py --count 10 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import docker
from docker.models.containers import Container
from recording import save, summarize

from xmtpd_e2e.config import local_images

LABEL = {"xmtpd-e2e.bench": "container-cost"}


def busy_seconds() -> float:
    """CPU-seconds the machine has been busy (everything but idle and iowait) since boot."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / 100


def lives(
    client: docker.DockerClient, image: str, count: int, options: Callable[[int], dict[str, Any]]
) -> dict[str, float]:
    """``count`` containers created and started, then removed: busy CPU-seconds and wall per container."""
    began, wall = busy_seconds(), time.monotonic()
    made: list[Container] = []
    for i in range(count):
        container = client.containers.create(
            image, ["-host", "127.0.0.1", "-port", "18474"], name=f"xe2e-cost-{i}", labels=LABEL, **options(i)
        )
        container.start()
        made.append(container)
    started = busy_seconds()
    for container in made:
        container.remove(force=True)
    ended = busy_seconds()
    return {
        "create_and_start_cpu_seconds": (started - began) / count,
        "remove_cpu_seconds": (ended - started) / count,
        "cpu_seconds": (ended - began) / count,
        "wall_seconds": (time.monotonic() - wall) / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10, help="containers per sample")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    client = docker.from_env(timeout=120)
    image = local_images().toxiproxy
    network = client.networks.create("xe2e-cost", driver="bridge", labels=LABEL)
    owner = client.containers.create(
        image, ["-host", "127.0.0.1", "-port", "18475"], name="xe2e-cost-owner", labels=LABEL, network=network.name
    )
    owner.start()
    variants: dict[str, Callable[[int], dict[str, Any]]] = {
        "bridge network": lambda i: {"network": network.name},
        "bridge network, one published port": lambda i: {
            "network": network.name,
            "ports": {"8474/tcp": ("127.0.0.1", None)},
        },
        "joined to another container's network": lambda i: {"network_mode": f"container:{owner.name}"},
    }
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    try:
        for _ in range(args.repeat):
            for name, options in variants.items():  # interleaved: drift in the machine's load hits each alike
                samples[name].append(lives(client, image, args.count, options))
    finally:
        for container in client.containers.list(all=True, filters={"label": "xmtpd-e2e.bench=container-cost"}):
            container.remove(force=True)
        network.remove()
        client.close()
    results = [
        {
            "variant": name,
            "containers_per_sample": args.count,
            **{key: summarize([s[key] for s in runs], 3) for key in runs[0]},
        }
        for name, runs in samples.items()
    ]
    for entry in results:
        print(f"{entry['variant']}: {entry['cpu_seconds']['median']:.2f} CPU-s per container", flush=True)
    path = save("container-cost", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
