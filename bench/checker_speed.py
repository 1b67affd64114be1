"""How long the explore checker takes on a history of a million operations.

usage: python bench/checker_speed.py [--operations N] [--nodes N] [--runs N]

Generates a valid history (no violation, so every property is checked to the end rather than
stopping at a finding): publishes of one envelope each spread over the nodes, and reads -- two
readers paging every originator by cursor, two subscription streams over everything, and topic
readers re-reading fixed sets of topics -- plus a few fault events; every node's final state holds
every envelope.  Times ``check()`` alone, wall clock and the process's CPU time (the machine is
shared; the load average is recorded with the result), generation apart, and writes
``bench/results/checker-speed.json``.  Target: under 60 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from recording import save

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from xmtpd_e2e.explore.checker import check  # noqa: E402
from xmtpd_e2e.explore.final_state import FinalState, NodeState, StoredEnvelope, UsageRow  # noqa: E402
from xmtpd_e2e.explore.history import Delivery, History, Operation, Read  # noqa: E402
from xmtpd_e2e.timeline import TimelineEvent  # noqa: E402

PAGE = 100
T0 = 1_000_000.0


def _publishes(count: int, node_ids: list[int]) -> tuple[list[Operation], dict[int, list[tuple[int, str]]]]:
    """One envelope per publish, round-robin over the nodes, 1 ms apart."""
    operations = []
    by_originator: dict[int, list[tuple[int, str]]] = {n: [] for n in node_ids}
    for i in range(count):
        originator = node_ids[i % len(node_ids)]
        sequence = len(by_originator[originator]) + 1
        topic = f"{i:032x}"
        at = T0 + i * 0.001
        operations.append(
            Operation(i + 1, f"p{i % 8}", f"node-{originator}", at, [topic], at + 0.002, "ok", [(originator, sequence)])
        )
        by_originator[originator].append((sequence, topic))
    return operations, by_originator


def _paging_reads(reader: str, node: str, by_originator: dict[int, list[tuple[int, str]]], start: float) -> list[Read]:
    reads = []
    merged = sorted((o, s, t) for o, envelopes in by_originator.items() for s, t in envelopes)
    cursor: dict[int, int] = {}
    for first in range(0, len(merged) + 1, PAGE):
        page = merged[first : first + PAGE]
        at = start + first * 0.001
        deliveries: list[Delivery] = [(at, o, s, t, t[:16]) for o, s, t in page]
        reads.append(
            Read(
                0,
                reader,
                node,
                "query-originators",
                at,
                dict(cursor),
                sorted(by_originator),
                [],
                PAGE,
                at,
                "ok",
                deliveries,
            )
        )
        for o, s, _ in page:
            cursor[o] = s
    return reads


def _stream(reader: str, node: str, operations: list[Operation]) -> Read:
    deliveries: list[Delivery] = [
        ((op.complete or 0.0) + 0.05, op.keys[0][0], op.keys[0][1], op.topics[0], op.topics[0][:16])
        for op in operations
    ]
    end = deliveries[-1][0] + 1
    return Read(0, reader, node, "subscribe", T0, {}, [], [], 0, end, "ok", deliveries)


def _topic_reads(count: int, operations: list[Operation], after: float, rng: random.Random) -> list[Read]:
    """``count`` reads by readers each re-reading its five topics (identical requests)."""
    reads = []
    readers = max(1, count // 50)
    for r in range(readers):
        chosen = sorted(rng.sample(operations, 5), key=lambda op: op.keys[0])
        topics = [op.topics[0] for op in chosen]
        deliveries: list[Delivery] = [
            (after, op.keys[0][0], op.keys[0][1], op.topics[0], op.topics[0][:16]) for op in chosen
        ]
        for k in range(count // readers + (r < count % readers)):
            at = after + k * 0.01
            reads.append(
                Read(
                    0, f"t{r}", "node-100", "query-topics", at, {}, [], topics, PAGE, at + 0.005, "ok", list(deliveries)
                )
            )
    return reads


def _final(node_ids: list[int], by_originator: dict[int, list[tuple[int, str]]], payer: str) -> FinalState:
    envelopes = [StoredEnvelope(o, s, t, payer) for o, items in by_originator.items() for s, t in items]
    sequences = {o: [s for s, _ in items] for o, items in by_originator.items()}
    clock = {o: len(items) for o, items in by_originator.items()}
    usage = [UsageRow(payer, o, len(items), len(items) * 100) for o, items in by_originator.items()]
    nodes = {n: NodeState(n, True, True, envelopes, sequences, clock, usage, 0) for n in node_ids}
    return FinalState(nodes, T0 + 10_000)


def generate(operations: int, node_count: int) -> tuple[History, FinalState, dict[str, int]]:
    rng = random.Random(1)
    node_ids = [(i + 1) * 100 for i in range(node_count)]
    reads_wanted = operations // 10
    publishes, by_originator = _publishes(operations - reads_wanted, node_ids)
    end = publishes[-1].complete or T0
    reads = _paging_reads("pager-0", "node-100", by_originator, end + 1)
    reads += _paging_reads("pager-1", "node-200", by_originator, end + 2)
    reads += [_stream("stream-0", "node-300", publishes), _stream("stream-1", "node-100", publishes)]
    reads += _topic_reads(reads_wanted - len(reads), publishes, end + 5, rng)
    for i, read in enumerate(reads, start=1):
        read.id = i
    faults = [
        TimelineEvent(i, "fault", "kill", (f"node-{node_ids[i % node_count]}",), {}, T0 + 60 * i, T0 + 60 * i + 10)
        for i in range(1, 6)
    ]
    history = History(publishes, faults, T0, end, end + 0.5, reads)
    shape = {
        "publishes": len(publishes),
        "reads": len(reads),
        "operations": len(publishes) + len(reads),
        "deliveries": sum(len(r.deliveries) for r in reads),
        "nodes": node_count,
    }
    return history, _final(node_ids, by_originator, "0xpayer"), shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=1_000_000)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    began = time.perf_counter()
    history, final, shape = generate(args.operations, args.nodes)
    generated = time.perf_counter() - began
    print(f"generated {shape} in {generated:.1f}s", flush=True)
    samples: list[float] = []
    cpu: list[float] = []
    loads: list[float] = []
    verdict: Any = None
    for run in range(args.runs):
        gc.collect()
        began, began_cpu = time.perf_counter(), time.process_time()
        verdict = check(history, final)
        samples.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        loads.append(round(os.getloadavg()[0], 1))
        print(
            f"run {run + 1}: {samples[-1]:.1f}s ({cpu[-1]:.1f}s CPU), violations {sorted(verdict.kinds())}", flush=True
        )
    assert verdict is not None and verdict.ok, verdict.violations[:3]
    command = "python bench/checker_speed.py " + " ".join(sys.argv[1:])
    results = {
        "history": shape,
        "generation_seconds": round(generated, 1),
        "check_seconds": {"median": round(statistics.median(samples), 1), "samples": [round(s, 1) for s in samples]},
        # The machine is shared: wall time grows with the load average, CPU time is the checker's own.
        "check_cpu_seconds": {"median": round(statistics.median(cpu), 1), "samples": [round(s, 1) for s in cpu]},
        "load_average_during_checks": loads,
        "target_seconds": 60,
        "verdict_ok": verdict.ok,
    }
    print(save("checker-speed", command.strip(), results))


if __name__ == "__main__":
    main()
