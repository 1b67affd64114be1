"""Does ``xmtpd-e2e explore``, with its default draws, find defects upstream fixed after the pin?

usage: python bench/upstream_defect_hunt.py --seed S [--runs N] [--budget-minutes M] [--duration D]
       python bench/upstream_defect_hunt.py --reanalyze   # recount the recorded runs from their summaries

Runs ``xmtpd-e2e explore --seed S+i --runs 1 --no-shrink --artifacts-always`` once per seed, one at
a time (each run its own process, so a failing seed does not end the hunt), and for each run
records the verdict, the violation kinds, every service's ``deadlock detected`` / SQLSTATE 40P01
log lines (xmtpd#2026: partition creation deadlocking between the publish and sync workers), the
wall time and the CPU time: the explore process tree's (explore, nodes, gateways, proxies) and the
whole machine's (which adds the shared Postgres and anvil, and anyone else's load).  Writes
``bench/results/upstream-defect-hunt.json`` after every run, so a hunt cut short keeps what it did.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from recording import previous, save

NAME = "upstream-defect-hunt"
DEADLOCK = re.compile(r"deadlock detected|40P01")
DROPPED = re.compile(r"failed to store synced (attestation|report).*(deadlock detected|40P01)")
"""xmtpd's sync sink logs these and returns nil ("to avoid infinite retries"): the envelope is lost."""
LOSSES = ("sequence-gap", "read-gap", "missing")
SAMPLE_CHARS = 600
DEFECTS = {
    "xmtpd#2026": {
        "fix": "4b14f2a54c440e611c3f1d58fa6b55755316e059 (2026-06-24), in no release tag yet",
        "what": "inline partition creation (ensure_gateway_parts_v2: ATTACH PARTITION on gateway_envelopes_meta "
        "and gateway_envelope_blobs) deadlocks with another writer's insert for another originator: 40P01",
        "pinned_code_path": "pkg/db/gateway_envelope.go InsertGatewayEnvelopeWithChecksTransactional (sync: "
        "pkg/sync/envelope_sink.go; publish: pkg/api/message/publish_worker.go) -> EnsureGatewayParts",
        "how_looked_for": "deadlock lines in every service's log (kept with --artifacts-always); violations "
        "whose message names a deadlock; losses on a node whose sync sink dropped a synced payer report or "
        "attestation after a deadlock (pkg/sync/envelope_sink.go storeReservedEnvelope returns nil on error)",
        "timing": "the loss needs a payer report during the run: node N's generator runs once an hour at a "
        "minute fixed by its id (pkg/payerreport/workers/timers.go: 100 -> :31, 200 -> :47, 300 -> :02, "
        "400 -> :18), and the other nodes' attestations are then their first own envelopes (partition creation) "
        "while they sync each other's; a replay at another minute of the hour has no report",
    },
    "xmtpd#1983": {
        "fix": "2d719799a2af07fd05b4c3e04ca576b3b003a75c (2026-04-21), in no release tag yet",
        "what": "SubscribeTopics answers InvalidArgument when a per-topic cursor names an originator absent "
        "from the node's (cached) originator list",
        "pinned_code_path": "pkg/api/message/subscribe_topics.go validateTopicFilters (v1.2.0 serves it)",
        "how_looked_for": "not reachable: explore's readers call QueryEnvelopes and SubscribeEnvelopes only, "
        "the framework's protos have no SubscribeTopics messages, and libxmtp in xmtp-bindings 0.1.8 "
        "(--users) never calls SubscribeTopics",
        "what_would_be_needed": "SubscribeTopics messages in the framework's protos, a reader kind holding a "
        "SubscribeTopics stream with per-topic cursors that it carries to another node when it reopens "
        "(a cursor naming an originator that node has not indexed, or indexed after its 5-minute originator "
        "cache was filled: v1.2.0 checks against the cached list), and a violation for a well-formed request "
        "refused; drawn only when named, since a new kind in the default draw changes every seed's plan",
    },
}


def machine_busy_seconds() -> float:
    """CPU seconds every core spent on anything but idle and iowait since boot (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user..steal, less idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def deadlock_lines(artifacts: list[str]) -> dict[str, Any]:
    """Per service log among ``artifacts``: how many lines name a deadlock, and the first two."""
    counts: dict[str, int] = {}
    dropped: dict[str, int] = {}
    samples: list[str] = []
    for name in artifacts:
        path = Path(name)
        if path.parent.name != "logs" or path.suffix != ".log":
            continue
        hits = [line for line in path.read_text(errors="replace").splitlines() if DEADLOCK.search(line)]
        counts[path.stem] = len(hits)
        dropped[path.stem] = sum(1 for line in hits if DROPPED.search(line))
        samples += [f"{path.stem}: {line[:SAMPLE_CHARS]}" for line in hits[:2]]
    return {
        "total": sum(counts.values()),
        "by_service": counts,
        "envelopes_dropped_by_service": {k: v for k, v in dropped.items() if v},
        "samples": samples[:4],
    }


def reports_generated(artifacts: list[str]) -> int:
    """Payer reports the nodes generated: only then do they attest, the path that loses an envelope."""
    logs = [Path(a) for a in artifacts if Path(a).parent.name == "logs" and Path(a).stem.startswith("node-")]
    return sum(path.read_text(errors="replace").count("generated report") for path in logs)


def attributed(violations: list[dict[str, Any]], dropped: dict[str, int]) -> list[str]:
    """Losses on a node whose sync sink dropped an envelope after a deadlock: xmtpd#2026's doing.
    A loss elsewhere is not attributed, nor is one on a node without such a drop."""
    nodes = {name.removeprefix("node-") for name in dropped}
    found = []
    for v in violations:
        text = f"node {v['node']} {v['message']}"
        if v["kind"] in LOSSES and any(f"node {n}" in text or f"node-{n}" in text for n in nodes):
            found.append(v["kind"])
    return found


def explore(seed: int, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    summary = scratch / f"summary-{seed}.json"
    command = [
        sys.executable, "-m", "xmtpd_e2e.cli.main", "explore", "--runtime", args.runtime,
        "--seed", str(seed), "--runs", "1", "--duration", str(args.duration), "--no-shrink",
        "--record-dir", str(scratch / "records"), "--artifacts", str(scratch / "artifacts"),
        "--artifacts-always", "--output-format", "json", "--output-file", str(summary),
    ]  # fmt: skip
    before, busy, started = resource.getrusage(resource.RUSAGE_CHILDREN), machine_busy_seconds(), time.monotonic()
    finished = subprocess.run(command, text=True, capture_output=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result: dict[str, Any] = {
        "seed": seed,
        "exit_code": finished.returncode,
        "wall_seconds": round(wall, 1),
        "tree_cpu_seconds": round(tree_cpu, 1),
        "machine_cpu_seconds": round(machine_busy_seconds() - busy, 1),
    }
    try:
        run = json.loads(summary.read_text())["runs"][0]
    except (OSError, ValueError, KeyError, IndexError):
        result["error"] = finished.stderr[-2000:]
        return result
    return {**result, **_run_facts(run)}


def _run_facts(run: dict[str, Any]) -> dict[str, Any]:
    """What one explore summary entry says: verdict, violations, plan size, deadlock lines."""
    verdict = run.get("verdict") or {}
    violations = [
        {"kind": v["kind"], "node": v.get("node"), "message": v["message"][:SAMPLE_CHARS]}
        for v in verdict.get("violations", [])
    ]
    record = json.loads(Path(run["record"]).read_text())
    schedule = record["schedule"]
    deadlocks = deadlock_lines(run.get("artifacts") or [])
    return {
        "status": run["status"],
        "error": run.get("error"),
        "xmtpd_version": record.get("settings", {}).get("xmtpd_version"),
        "nodes": len(schedule["cluster"]["nodes"]),
        "gateways": schedule["cluster"]["gateways"],
        "publishers": len(record["workload"].get("publishers", [])),
        "faults": [f"{f['kind']}@{f['target']}" for f in schedule.get("faults", [])],
        "readers": [r["kind"] for r in schedule.get("readers", [])],
        "violations": violations,
        "violations_naming_a_deadlock": [v["kind"] for v in violations if DEADLOCK.search(v["message"])],
        "violations_attributed_to_2026": attributed(violations, deadlocks["envelopes_dropped_by_service"]),
        "deadlock_lines": deadlocks,
        "payer_reports_generated": reports_generated(run.get("artifacts") or []),
        "load_average": run.get("load_average"),
        "logs_kept": any(Path(a).parent.name == "logs" for a in run.get("artifacts") or []),
    }


def first_found(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first run with a violation attributed to xmtpd#2026 and what the hunt spent until then."""
    for i, run in enumerate(runs):
        if run.get("violations_attributed_to_2026"):
            spent = runs[: i + 1]
            return {
                "seed": run["seed"],
                "runs": i + 1,
                "wall_minutes": round(sum(r["wall_seconds"] for r in spent) / 60, 1),
                "tree_cpu_minutes": round(sum(r["tree_cpu_seconds"] for r in spent) / 60, 1),
                "machine_cpu_minutes": round(sum(r["machine_cpu_seconds"] for r in spent) / 60, 1),
            }
    return None


def totals(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "xmtpd_2026_first_found": first_found(runs),
        "runs": len(runs),
        "failed_runs": sum(1 for r in runs if r.get("status") == "FAIL"),
        "runs_with_deadlock_lines": sum(1 for r in runs if r.get("deadlock_lines", {}).get("total", 0) > 0),
        "deadlock_lines": sum(r.get("deadlock_lines", {}).get("total", 0) for r in runs),
        "violations_naming_a_deadlock": sum(len(r.get("violations_naming_a_deadlock", [])) for r in runs),
        "envelopes_dropped_after_a_deadlock": sum(
            sum(r.get("deadlock_lines", {}).get("envelopes_dropped_by_service", {}).values()) for r in runs
        ),
        "runs_with_a_payer_report": sum(1 for r in runs if r.get("payer_reports_generated")),
        "runs_with_violations_attributed_to_2026": sum(1 for r in runs if r.get("violations_attributed_to_2026")),
        "wall_minutes": round(sum(r["wall_seconds"] for r in runs) / 60, 1),
        "tree_cpu_minutes": round(sum(r["tree_cpu_seconds"] for r in runs) / 60, 1),
        "machine_cpu_minutes": round(sum(r["machine_cpu_seconds"] for r in runs) / 60, 1),
    }


def replay_facts(directory: Path) -> dict[str, Any]:
    """One ``explore --replay`` (and its shrinking, if it failed): statuses, deadlocks, wall and CPU."""
    summary = json.loads((directory / "summary.json").read_text())
    timed = (directory / "err.log").read_text(errors="replace")

    def measured(label: str) -> float:
        match = re.search(rf"{label}: ([0-9.:]+)", timed)
        if match is None:
            return 0.0
        seconds = 0.0
        for part in match.group(1).split(":"):
            seconds = seconds * 60 + float(part)
        return seconds

    artifacts = [str(p) for p in (directory / "artifacts").rglob("*.log")]
    run = summary["runs"][0]
    return {
        "directory": directory.name,
        "seed": run["seed"],
        "status": run["status"],
        "violations": [v["kind"] for v in (run.get("verdict") or {}).get("violations", [])],
        "shrink": run.get("shrink"),
        "logs_kept": bool(artifacts),
        "deadlock_lines": deadlock_lines(artifacts) if artifacts else None,
        "wall_seconds": measured(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\)"),
        "tree_cpu_seconds": round(measured(r"User time \(seconds\)") + measured(r"System time \(seconds\)"), 1),
    }


def reanalyze(args: argparse.Namespace) -> None:
    """Recount every recorded run from its explore summary under ``--scratch`` (kept measurements)."""
    from recording import RESULTS

    report = json.loads((RESULTS / f"{NAME}.json").read_text())
    runs = report["results"]["runs"]
    for i, run in enumerate(runs):
        summary = args.scratch / f"summary-{run['seed']}.json"
        if summary.exists():
            measured = {
                k: run[k] for k in ("seed", "exit_code", "wall_seconds", "tree_cpu_seconds", "machine_cpu_seconds")
            }
            runs[i] = {**measured, **_run_facts(json.loads(summary.read_text())["runs"][0])}
    results = {**report["results"], "defects": DEFECTS, "totals": totals(runs), "runs": runs}
    if args.replays:
        results["replays"] = [replay_facts(d) for d in args.replays]
    print(save(NAME, report["command"], results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, help="the first seed (required unless --reanalyze)")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--budget-minutes", type=float, default=50.0, help="start no run after this")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--runtime", default="local")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/upstream-defect-hunt"))
    parser.add_argument("--append", action="store_true", help="add to the runs recorded last time")
    parser.add_argument(
        "--replays",
        type=Path,
        nargs="*",
        default=[],
        help="with --reanalyze: directories of `explore --replay` runs of a found seed (summary.json, "
        "artifacts/, err.log from /usr/bin/time -v) to record beside the hunt",
    )
    parser.add_argument(
        "--reanalyze", action="store_true", help="recount the runs recorded last time from their kept summaries"
    )
    args = parser.parse_args()
    if args.reanalyze:
        reanalyze(args)
        return
    if args.seed is None:
        parser.error("--seed is required (the first seed to explore)")
    earlier = previous(NAME) if args.append else None
    runs: list[dict[str, Any]] = list(earlier["runs"]) if earlier else []
    started = time.monotonic()
    command = "python bench/upstream_defect_hunt.py " + " ".join(sys.argv[1:])
    for seed in range(args.seed, args.seed + args.runs):
        if time.monotonic() - started > args.budget_minutes * 60:
            break
        run = explore(seed, args, args.scratch)
        runs.append(run)
        print(json.dumps({k: run.get(k) for k in ("seed", "status", "wall_seconds", "deadlock_lines")}), flush=True)
        results = {
            "defects": DEFECTS,
            "runtime": args.runtime,
            "duration": args.duration,
            "totals": totals(runs),
            "runs": runs,
        }
        save(NAME, command, results)


if __name__ == "__main__":
    main()
