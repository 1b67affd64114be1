"""Hunt xmtpd's post-packet-loss stall: runs one at a time, every recovery time, the sockets.

usage: python bench/packet_loss_hunt.py OUT_DIR [--explore-seeds 1,2,3] [--scenario-runs N]
           [--minutes M] [--budget SECONDS] [--nodes N] [--duration SECONDS]

Why: ``docs/findings/sync-stream-stalls-after-packet-loss.md`` says a node sometimes misses
another originator's envelopes for minutes after packet loss heals, and explains it by TCP
retransmission backoff on a sync stream without keepalive.  Only the kernel's view of the
stalled connection (``ss -tinoe``: its ``rto``, ``backoff``, ``unacked``) can confirm that, and
only while the stall lasts.  So every run here -- ``explore`` restricted to packet loss, whose
recovery monitor snapshots every service's sockets when a recovery passes ``--budget``, and
``run --test chaos-packet-loss-recovery`` -- also has every one of its network namespaces'
``ss -tinoe`` appended to ``OUT_DIR/sockets/<run>/<namespace>.txt`` every 3 s while it runs
(local runtime, as root), so the stall's whole course is kept, not just one moment.

Runs go one after another, explore and scenario in turn (a 2-core machine), until the list or
``--minutes`` ends; after each one ``bench/results/packet-loss-hunt.json`` is rewritten with
every run's command, exit code, wall and CPU seconds (this process's children: the CLI and the services it started and waited
for, not the host's Postgres), load average and recovery times, and whether any recovery took
longer than ``--budget``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from itertools import zip_longest
from pathlib import Path
from typing import Any

from recording import previous, save, summarize

CLI = str(Path(sys.executable).with_name("xmtpd-e2e"))
RUN_STATES = Path(os.environ.get("XMTPD_E2E_HOME", Path.home() / ".cache" / "xmtpd-e2e")) / "runs"
NETNS = Path("/run/netns")
SNAPSHOT_SECONDS = 3.0


def _run_ids(pid: int) -> list[str]:
    """The runs (run-state files) the process ``pid`` created."""
    ids = []
    for state in RUN_STATES.glob("*.json"):
        try:
            if json.loads(state.read_text()).get("pid") == pid:
                ids.append(state.stem)
        except (OSError, ValueError):
            continue
    return ids


def _watch_sockets(process: subprocess.Popen[bytes], out: Path) -> None:
    """Append ``ss -tinoe`` of each namespace of ``process``'s runs to ``out`` until it exits."""
    out.mkdir(parents=True, exist_ok=True)
    while process.poll() is None:
        for run_id in _run_ids(process.pid):
            for namespace in sorted(NETNS.glob(f"xe2e-{run_id}-*")):
                ss = subprocess.run(
                    ["ip", "netns", "exec", namespace.name, "ss", "-tinoe"], capture_output=True, text=True
                )
                stamp = time.strftime("%H:%M:%S", time.gmtime()) + f" {time.time():.1f}"
                with (out / f"{namespace.name}.txt").open("a") as file:
                    file.write(f"=== {stamp}\n{ss.stdout}{ss.stderr}")
        time.sleep(SNAPSHOT_SECONDS)


def _recoveries_in(data: Any) -> list[dict[str, Any]]:
    """Every ``recoveries`` entry anywhere in a results or record document."""
    found: list[dict[str, Any]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "recoveries" and isinstance(value, list):
                found.extend(v for v in value if isinstance(v, dict))
            else:
                found.extend(_recoveries_in(value))
    elif isinstance(data, list):
        for value in data:
            found.extend(_recoveries_in(value))
    return found


def _seconds(recovery: dict[str, Any]) -> float | None:
    for key in ("recovery_seconds", "nodes_seconds"):
        if recovery.get(key) is not None:
            return float(recovery[key])
    return None


def _explore_recoveries(summary_path: Path) -> list[dict[str, Any]]:
    """From explore's summary, each run's record: its recoveries (evidence left in the record)."""
    recoveries = []
    for run in json.loads(summary_path.read_text()).get("runs", []):
        record = json.loads(Path(run["record"]).read_text())
        params = {(f["kind"], f["target"]): f.get("params", {}) for f in record.get("schedule", {}).get("faults", [])}
        seen = set()
        for r in _recoveries_in(record):
            if (r["kind"], r["target"], r["healed_at"]) in seen:
                continue
            seen.add((r["kind"], r["target"], r["healed_at"]))
            recoveries.append(
                {
                    "record": run["record"],
                    "kind": r["kind"],
                    "target": r["target"],
                    "params": params.get((r["kind"], r["target"])),
                    "seconds": _seconds(r),
                    "behind_at_budget": r.get("behind") or {},
                    "evidence_taken": sorted(r.get("evidence") or {}),
                }
            )
    return recoveries


def _scenario_recoveries(results_path: Path) -> list[dict[str, Any]]:
    return [
        {"kind": r["kind"], "target": r["target"], "seconds": _seconds(r), "recovered": r.get("recovered")}
        for r in _recoveries_in(json.loads(results_path.read_text()))
    ]


def _clock(line: str) -> int:
    hours, minutes, seconds = (int(x) for x in line[:8].split(":"))
    return hours * 3600 + minutes * 60 + seconds


def _under_loss(log: Path) -> dict[str, Any]:
    """From a scenario's log: whether it converged with the loss in force and how many seconds
    after the loss began (15 s of traffic included), the recovery it logged after the heal."""
    lines = log.read_text(errors="replace").splitlines()
    began = next((_clock(x) for x in lines if ".faults: fault packet-loss" in x), None)
    converged = next((_clock(x) for x in lines if "converged with 30% loss still in force" in x), None)
    logged = next((re.search(r"recovered ([0-9.]+) s after the heal", x) for x in lines if "after the heal" in x), None)
    return {
        "converged_under_loss_after_seconds": None if began is None or converged is None else converged - began,
        "logged_recovery_seconds": float(logged.group(1)) if logged else None,
        "over_budget_finding": any("known post-loss stall" in x for x in lines),
    }


def _timed(command: list[str], sockets: Path, log: Path) -> dict[str, Any]:
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        watcher = threading.Thread(target=_watch_sockets, args=(process, sockets), daemon=True)
        watcher.start()
        code = process.wait()
        watcher.join(SNAPSHOT_SECONDS * 4)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {
        "command": " ".join(command),
        "exit_code": code,
        "wall_seconds": round(time.monotonic() - started, 1),
        "cpu_seconds": round(cpu, 1),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "log": str(log),
        "sockets": str(sockets),
    }


def _plan(args: argparse.Namespace, out: Path) -> list[tuple[str, list[str], Path]]:
    """Explore seeds and scenario runs taken in turn, so a time box that ends early has both."""
    explores, scenarios = [], []
    for seed in args.explore_seeds:
        summary = out / f"explore-{seed}.json"
        command = [CLI, "explore", "--runtime", "local", "--faults", "packet-loss"]
        command += ["--recovery-budget", f"packet-loss={args.budget:g}", "--nodes", str(args.nodes)]
        command += ["--duration", f"{args.duration:g}", "--seed", str(seed), "--no-shrink"]
        command += ["--record-dir", str(out / "records"), "--artifacts", str(out / f"explore-{seed}-art")]
        command += ["--output-format", "json", "--output-file", str(summary)]
        explores.append((f"explore-{seed}", command, summary))
    for i in range(args.first_scenario, args.first_scenario + args.scenario_runs):
        results = out / f"scenario-{i}.json"
        command = [CLI, "run", "--test", args.scenario, "--runtime", "local", "--artifacts-always"]
        command += [
            "--artifacts",
            str(out / f"scenario-{i}-art"),
            "--output-format",
            "json",
            "--output-file",
            str(results),
        ]
        scenarios.append((f"scenario-{i}", command, results))
    return [run for pair in zip_longest(explores, scenarios) for run in pair if run is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--explore-seeds", type=_seeds, default=[], help="comma-separated, e.g. 1,2,3")
    parser.add_argument("--scenario-runs", type=int, default=0)
    parser.add_argument("--scenario", default="chaos-packet-loss-recovery", help="or chaos-packet-loss (heals sooner)")
    parser.add_argument("--first-scenario", type=int, default=1, help="number of the first scenario run's files")
    parser.add_argument("--continue", dest="resume", action="store_true", help="add to the runs recorded last time")
    parser.add_argument("--minutes", type=float, default=50.0)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    earlier = previous("packet-loss-hunt") if args.resume else None
    deadline, runs = time.monotonic() + args.minutes * 60, list((earlier or {}).get("per_run", []))
    for label, command, result in _plan(args, out):
        if time.monotonic() >= deadline:
            break
        entry = {"run": label, **_timed(command, out / "sockets" / label, out / f"{label}.log")}
        try:
            read = _explore_recoveries if label.startswith("explore") else _scenario_recoveries
            entry["recoveries"] = read(result)
            if label.startswith("scenario"):
                entry.update(_under_loss(out / f"{label}.log"))
        except (OSError, ValueError, KeyError) as error:
            entry["recoveries"], entry["unreadable"] = [], f"{result}: {error}"
        times = [r["seconds"] for r in entry["recoveries"]]
        entry["over_budget"] = any(t is None or t > args.budget for t in times)
        runs.append(entry)
        print(f"{label}: exit {entry['exit_code']}, recoveries {times}", flush=True)
        commands = [
            *(earlier or {}).get("hunt_commands", []),
            "python bench/packet_loss_hunt.py " + " ".join(sys.argv[1:]),
        ]
        commands = list(dict.fromkeys(commands))  # in the order they ran
        save("packet-loss-hunt", commands[0], {**_summary(runs, args), "hunt_commands": commands})


def _route(run: dict[str, Any]) -> str:
    """``explore``, or the scenario a run ran."""
    found = re.search(r"--test (\S+)", run["command"])
    return found.group(1) if found else "explore"


def _summary(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Totals first (what a reader wants), then each run.  A recovery is one heal's: a scenario
    heals two links at once, so it has two nearly equal ones."""
    by_route: dict[str, list[float]] = {}
    for run in runs:
        times = [r["seconds"] for r in run["recoveries"] if r["seconds"] is not None]
        by_route.setdefault(_route(run), []).extend(times)
    return {
        "budget_seconds": args.budget,
        "runs": len(runs),
        "runs_by_route": {route: sum(1 for run in runs if _route(run) == route) for route in by_route},
        "runs_over_budget": [run["run"] for run in runs if run["over_budget"]],
        "cpu_minutes": round(sum(run["cpu_seconds"] or 0 for run in runs) / 60, 1),
        "wall_minutes": round(sum(run["wall_seconds"] or 0 for run in runs) / 60, 1),
        "recovery_seconds": {route: summarize(times, 2) for route, times in by_route.items() if times},
        "per_run": runs,
    }


def _seeds(text: str) -> list[int]:
    if not re.fullmatch(r"\d+(,\d+)*", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r}: comma-separated seeds (0 or more), e.g. 1,2,3")
    return [int(s) for s in text.split(",")]


if __name__ == "__main__":
    main()
