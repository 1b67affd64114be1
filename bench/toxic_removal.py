"""Record whether removing stacked toxics from a busy proxy wedges toxiproxy.

usage: python bench/toxic_removal.py [--rounds N]

For each stack of toxics (added in the order listed) and each removal order, ``--rounds`` times:
add the stack to a proxy with six connections streaming through it, wait 0-3 s (the reset's
countdown is 2 s), then remove every toxic.  "oldest first" deletes through toxiproxy's API in
the order the toxics were added (what the framework did before); "framework" is
``ChaosController.remove_all_toxics``.  A removal that gets no answer within its budget counts
as a hang, after which toxiproxy is restarted (it never recovers by itself).  Writes
``bench/results/toxic-removal.json``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

import requests
from recording import save, summarize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration" / "services"))

from toxiproxy_traffic import BusyProxy, busy_proxy  # noqa: E402

from xmtpd_e2e.errors import ServiceError  # noqa: E402

STACKS = {
    "latency+bandwidth+reset+timeout": ("latency", "bandwidth", "reset", "timeout"),
    "latency+bandwidth+reset": ("latency", "bandwidth", "reset"),
    "bandwidth+reset": ("bandwidth", "reset"),
    "latency+reset": ("latency", "reset"),
    "latency+bandwidth": ("latency", "bandwidth"),
    "latency": ("latency",),
    "reset": ("reset",),
}
RESET_COUNTDOWN_MS = 2000


def _add(busy: BusyProxy, kind: str) -> None:
    chaos, proxy = busy.chaos, busy.proxy
    if kind == "latency":
        chaos.add_latency(proxy, 200)
    elif kind == "bandwidth":
        chaos.add_bandwidth_limit(proxy, 100)
    elif kind == "reset":
        chaos.add_connection_reset(proxy, RESET_COUNTDOWN_MS)
    else:
        chaos.add_timeout(proxy, 0)


def _remove_oldest_first(busy: BusyProxy) -> None:
    """Delete toxics in the order toxiproxy lists them, through its API directly: the framework
    never removes them in this order, which is the point of the comparison."""
    service = busy.chaos.service
    api = service.host_url(service.spec.ports[0])
    for toxic in busy.chaos.toxics(busy.proxy):
        requests.delete(f"{api}/proxies/{busy.proxy}/toxics/{toxic['name']}", timeout=12).raise_for_status()


def _measure(stack: tuple[str, ...], order: str, rounds: int, rng: random.Random) -> dict[str, Any]:
    hangs = 0
    times: list[float] = []
    done = 0
    while done < rounds:
        with busy_proxy() as busy:
            while done < rounds:
                done += 1
                for kind in stack:
                    _add(busy, kind)
                time.sleep(rng.uniform(0, 3))
                started = time.monotonic()
                try:
                    if order == "framework":
                        busy.chaos.remove_all_toxics(busy.proxy)
                    else:
                        _remove_oldest_first(busy)
                except (ServiceError, requests.RequestException):
                    hangs += 1
                    break  # toxiproxy is wedged for this proxy: start a fresh one
                times.append(time.monotonic() - started)
    return {"rounds": rounds, "hangs": hangs, "removal_s": summarize(times) if times else None}


def main() -> None:
    parser = argparse.ArgumentParser(description="Does removing toxics from a busy proxy wedge toxiproxy?")
    parser.add_argument("--rounds", type=int, default=20)
    arguments = parser.parse_args()
    rng = random.Random(7)
    results: dict[str, Any] = {}
    for label, stack in STACKS.items():
        results[label] = {}
        for order in ("oldest first", "framework"):
            outcome = _measure(stack, order, arguments.rounds, rng)
            results[label][order] = outcome
            print(f"{label:34} {order:13} hangs {outcome['hangs']}/{outcome['rounds']}", flush=True)
    save("toxic-removal", " ".join(["python", "bench/toxic_removal.py", *sys.argv[1:]]), results)


if __name__ == "__main__":
    main()
