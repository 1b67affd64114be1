"""Benchmark: registering N nodes and making them canonical, one by one vs in batches.

One by one is what environments did before: per node an ``addNode`` then an ``addToNetwork``,
each waiting for its receipt.  Batched is what they do now: every ``addNode`` sent with
consecutive nonces and confirmed together, then every ``addToNetwork`` alike
(``Chain.register_nodes``, ``Chain.add_all_to_canonical_network``).  A fresh anvil per round;
the registry is checked after each.

    .venv/bin/python bench/registration.py --sizes 10,25,50 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import time

from environments import bare_chain
from recording import save, summarize

from xmtpd_e2e.chain.client import Chain
from xmtpd_e2e.chain.keys import Key, KeyManager


def one_by_one(chain: Chain, keys: list[Key]) -> float:
    began = time.monotonic()
    for key in keys:
        node_id = chain.register_node(key.address, key, "http://node:5050")
        chain.add_to_canonical_network(node_id)
    return time.monotonic() - began


def batched(chain: Chain, keys: list[Key]) -> float:
    began = time.monotonic()
    ids = chain.register_nodes([(key.address, key, "http://node:5050") for key in keys])
    chain.add_all_to_canonical_network(ids)
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,25,50")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        samples: dict[str, list[float]] = {"one_by_one": [], "batched": []}
        for _ in range(args.repeat):
            for way, register in (("one_by_one", one_by_one), ("batched", batched)):
                with bare_chain() as url:
                    chain = Chain(url, KeyManager.admin_key())
                    samples[way].append(register(chain, [Key.generate() for _ in range(size)]))
                    assert len(chain.canonical_node_ids()) == size, "every node registered and canonical"
        summaries = {way: summarize(values) for way, values in samples.items()}
        results.append({"nodes": size, **summaries})
        print(
            f"{size} nodes: one by one {summaries['one_by_one']['median']:.2f}s, batched "
            f"{summaries['batched']['median']:.2f}s (medians of {args.repeat})",
            flush=True,
        )
    path = save("registration", " ".join(["python", *sys.argv]), results)
    print(f"recorded in {path}")


if __name__ == "__main__":
    main()
