"""Prove the read checker on a real cluster: every mutant run must be caught with the right kind.

usage: python bench/checker_mutants.py [--runs-per-mutation N] [--runtime local]

One real cluster (two nodes).  Each run publishes 30 envelopes to node 100, then three readers
read node 100 -- paging by cursor and one subscription stream through a mutating proxy
(xmtpd_e2e.explore.read_mutants), one paging directly -- while 20 more are published live; the
proxy mutates one response once.  The history (publishes and reads) and node 100's database go
to the checker.  A mutant is caught when its verdict has the kind the mutation must be caught as;
control runs (no mutation) must pass.  Writes ``bench/results/checker-mutants.json``.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path
from typing import Any

from environments import bench_config, bench_environment
from recording import save

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from xmtpd_e2e.client.envelopes import group_message_envelope  # noqa: E402
from xmtpd_e2e.client.reader import EnvelopeReader  # noqa: E402
from xmtpd_e2e.errors import WaitTimeout  # noqa: E402
from xmtpd_e2e.explore.checker import check  # noqa: E402
from xmtpd_e2e.explore.final_state import FinalState, read_node_state  # noqa: E402
from xmtpd_e2e.explore.history import History, HistoryRecorder  # noqa: E402
from xmtpd_e2e.explore.read_mutants import EXPECTED, MUTATIONS, MutatingReadProxy  # noqa: E402
from xmtpd_e2e.explore.readers import ReaderSpec, ReaderThread  # noqa: E402
from xmtpd_e2e.polling import wait_until  # noqa: E402

BATCH = 10


def _publish(client: Any, recorder: HistoryRecorder, batches: int) -> None:
    for _ in range(batches):
        envelopes = [group_message_envelope() for _ in range(BATCH)]
        topics = [e.aad.target_topic.hex() for e in envelopes]
        op = recorder.invoke("p0", "node-100", topics)
        published = client.publish_client_envelopes(envelopes)
        key_of = {p.topic: p.key for p in published}
        recorder.ok(op, [key_of[t] for t in topics])


def _readers(node: Any, address: str, recorder: HistoryRecorder, start: int) -> list[ReaderThread]:
    def topics() -> list[tuple[str, int]]:
        return []

    specs = [
        (ReaderSpec("pages-via-proxy", node.alias, "pages", 0.3), address),
        (ReaderSpec("stream-via-proxy", node.alias, "stream"), address),
        (ReaderSpec("pages-direct", node.alias, "pages", 0.3), node.endpoint),
    ]
    threads = []
    for spec, target in specs:
        thread = ReaderThread(spec, EnvelopeReader(functools.partial(str, target)), recorder, [node.id], topics)
        thread.cursor = {node.id: start}
        threads.append(thread)
    return threads


def one_run(env: Any, client: Any, mutation: str | None) -> dict[str, Any]:
    node = env.node(100)
    start = max(node.observer.sequence_ids().get(node.id, [0]) or [0])
    recorder = HistoryRecorder()
    t0 = time.time()
    _publish(client, recorder, 3)
    proxy = MutatingReadProxy(lambda: node.endpoint, mutation or "duplicate")
    address = proxy.start() if mutation else node.endpoint
    readers = _readers(node, address, recorder, start)
    for reader in readers:
        reader.start()
    time.sleep(1.0)
    _publish(client, recorder, 2)
    acknowledged = {k: t for op in recorder.operations() for t, k in zip(op.topics, op.keys, strict=True)}
    try:
        wait_until(lambda: all(r.caught_up(acknowledged) for r in readers), bool, timeout=8, description="readers")
    except WaitTimeout:
        pass  # a mutant that hid an envelope keeps its reader behind: the checker says so
    ended = time.time()
    for reader in readers:
        reader.stop()
    for reader in readers:
        reader.join(5)
    proxy.stop()
    history = History(recorder.operations(), [], t0, ended, ended - 0.5, recorder.reads())
    state = read_node_state(node.id, node.observer, running=True, canonical=True)
    verdict = check(history, FinalState({node.id: state}, time.time()))
    kinds = sorted(verdict.kinds())
    expected = sorted(EXPECTED[mutation]) if mutation else []
    caught = bool(set(kinds) & set(expected)) if mutation else not kinds
    return {
        "mutation": mutation or "none (control)",
        "applied": proxy.done.what if mutation else "",
        "on": proxy.done.method if mutation else "",
        "expected": expected,
        "found": kinds,
        "caught": caught,
        "reads": len(history.reads),
        "evidence": [v.message[:300] for v in verdict.violations],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-per-mutation", type=int, default=4)
    parser.add_argument("--controls", type=int, default=2)
    parser.add_argument("--runtime", default="local")
    args = parser.parse_args()
    plan: list[str | None] = [m for m in MUTATIONS for _ in range(args.runs_per_mutation)]
    plan += [None] * args.controls
    runs = []
    with bench_environment(bench_config(args.runtime), "checker-mutants") as (env, _):
        env.start()
        env.add_nodes(2)
        client = env.new_client(100)
        for mutation in plan:
            result = one_run(env, client, mutation)
            runs.append(result)
            mark = "caught" if result["caught"] else "MISSED"
            print(f"{result['mutation']}: {mark} {result['found']} ({result['applied']})", flush=True)
    mutants = [r for r in runs if not r["mutation"].startswith("none")]
    results = {
        "runtime": args.runtime,
        "mutant_runs": len(mutants),
        "caught": sum(r["caught"] for r in mutants),
        "controls_passed": sum(r["caught"] for r in runs if r["mutation"].startswith("none")),
        "controls": args.controls,
        "runs": runs,
    }
    print(save("checker-mutants", "python bench/checker_mutants.py " + " ".join(sys.argv[1:]), results))


if __name__ == "__main__":
    main()
