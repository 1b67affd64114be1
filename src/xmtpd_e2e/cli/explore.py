"""``xmtpd-e2e explore``: seeded random workloads and faults against real clusters.

Each run draws (or replays) a schedule, executes it in a fresh environment through the runner,
checks the history against the healed databases, and writes a replayable record.  A failure is
shrunk to a smaller schedule, written as a record and as a scenario module.  Exit codes as
``run``: 0 every run passed, 1 a violation was found (or a run did not complete), 2 a usage or
setup error.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from xmtpd_e2e.cli.errors import fail_setup
from xmtpd_e2e.cli.options import choice_option, option
from xmtpd_e2e.cli.run_settings import run_config
from xmtpd_e2e.config import AUTO_RUNTIME, XMTPD_VERSION, RunConfig
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runtime.image_sets import IMAGE_SETS
from xmtpd_e2e.runtime.registry import RUNTIMES

__all__ = ["explore_command"]

stderr = Console(stderr=True, soft_wrap=True)


def _node_env(values: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``300:XMTPD_SYNC_ENABLE=false`` or ``node-300:...`` -> {"node-300": {...}}."""
    result: dict[str, dict[str, str]] = {}
    for value in values:
        node, sep, assignment = value.partition(":")
        name, eq, setting = assignment.partition("=")
        node_id = node.removeprefix("node-")
        if not sep or not eq or not name or not node_id.isdigit() or int(node_id) % 100 or int(node_id) < 100:
            raise click.BadParameter(
                f"{value!r} should look like 300:XMTPD_SYNC_ENABLE=false (a node id 100, 200, ..., a variable, "
                "a value)",
                param_hint="--node-env",
            )
        result.setdefault(f"node-{node_id}", {})[name] = setting
    return result


def _fault_kinds(value: str | None) -> tuple[str, ...] | None:
    from xmtpd_e2e.explore.fault_kinds import FAULT_KINDS

    if value is None:
        return None
    if value.strip().lower() == "none":
        return ()
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        raise click.BadParameter(
            f"unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(FAULT_KINDS)}, or none",
            param_hint="--faults",
        )
    return kinds


def _violation_kinds(value: str | None) -> tuple[str, ...]:
    from xmtpd_e2e.explore.checker import VIOLATION_KINDS

    chosen = tuple(k.strip() for k in (value or "").split(",") if k.strip())
    unknown = [k for k in chosen if k not in VIOLATION_KINDS]
    if unknown:
        raise click.BadParameter(
            f"unknown violation kind(s) {', '.join(unknown)}; known: {', '.join(VIOLATION_KINDS)}",
            param_hint="--shrink-for",
        )
    return chosen


@click.command("explore")
@option("--seed", type=int, default=None, help="seed of the first run (default: from the clock)")
@option(
    "--runs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="seeds to try (seed, seed+1, ...); stops at the first failure",
)
@option("--duration", type=click.FloatRange(min=5), default=60.0, show_default=True, help="seconds of workload per run")
@option("--nodes", type=click.IntRange(min=1, max=12), default=None, help="cluster size (default: drawn, 2-4)")
@option("--gateways", type=click.IntRange(min=0, max=3), default=None, help="gateways (default: drawn, 0-1)")
@option("--faults", "faults", default=None, help="fault kinds to draw from, comma-separated, or none (default: all)")
@option("--max-publishers", type=click.IntRange(min=1), default=8, show_default=True, help="publishers at most")
@option(
    "--max-concurrent-publishers-per-node",
    "per_node",
    type=click.IntRange(min=1),
    default=None,
    help="never more publishers into one node than this (gateway publishers count against every node)",
)
@option("--node-env", "node_env", multiple=True, help="ID:VAR=VALUE, an override for one node (repeatable)")
@option("--replay", type=click.Path(path_type=Path), default=None, help="run the schedule of this record again")
@option("--no-shrink", is_flag=True, default=False, help="report a failure without shrinking it")
@option("--shrink-budget", type=click.IntRange(min=1), default=12, show_default=True, help="runs shrinking may use")
@option(
    "--shrink-for",
    "shrink_for",
    default=None,
    help="violation kinds a smaller schedule must still show, comma-separated (default: any the failure showed)",
)
@option(
    "--shrink-attempts",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="runs of a smaller schedule before it counts as passing (for failures that show only sometimes)",
)
@option(
    "--slow-seconds",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="a publish to a healthy node slower than this is a liveness violation",
)
@option(
    "--grace-seconds",
    type=click.FloatRange(min=0),
    default=20.0,
    show_default=True,
    help="publishes this soon after a fault on their target are excused",
)
@option(
    "--convergence-timeout",
    type=click.FloatRange(min=1),
    default=45.0,
    show_default=True,
    help="seconds to wait after heal for every node to hold every acknowledged envelope",
)
@option(
    "--record-dir",
    type=click.Path(path_type=Path),
    default=Path("explore"),
    show_default=True,
    help="where run records, shrunk records and scenario modules go",
)
@choice_option("--runtime", RUNTIMES.choices(), AUTO_RUNTIME, "where services run (as for `run`)")
@choice_option(
    "--image-set",
    IMAGE_SETS,
    "auto",
    "default images (docker runtime); auto: upstream where present or pullable, else local",
)
@option("--xmtpd-image", default=None, help="node image (docker runtime)")
@option("--gateway-image", default=None, help="gateway image (docker runtime)")
@option("--xmtpd-bin", type=click.Path(path_type=Path), default=None, help="node binary (local runtime)")
@option("--gateway-bin", type=click.Path(path_type=Path), default=None, help="gateway binary (local runtime)")
@option("--xmtpd-version", default=XMTPD_VERSION, show_default=True, help="xmtpd version")
@choice_option("--output-format", ("human", "json"), "human", "summary format on stdout (or --output-file)")
@option("--output-file", type=click.Path(path_type=Path), default=None, help="write the summary here")
@option(
    "--artifacts",
    type=click.Path(path_type=Path),
    default=Path("artifacts"),
    show_default=True,
    help="where artifacts of failing runs go",
)
@option("--postgres-dsn", default=RunConfig.postgres_dsn, help="admin DSN of the host Postgres")
@click.pass_context
def explore_command(
    ctx: click.Context,
    seed: int | None,
    runs: int,
    duration: float,
    nodes: int | None,
    gateways: int | None,
    faults: str | None,
    max_publishers: int,
    per_node: int | None,
    node_env: tuple[str, ...],
    replay: Path | None,
    no_shrink: bool,
    shrink_budget: int,
    shrink_for: str | None,
    shrink_attempts: int,
    slow_seconds: float,
    grace_seconds: float,
    convergence_timeout: float,
    record_dir: Path,
    runtime: str,
    image_set: str,
    xmtpd_image: str | None,
    gateway_image: str | None,
    xmtpd_bin: Path | None,
    gateway_bin: Path | None,
    xmtpd_version: str,
    output_format: str,
    output_file: Path | None,
    artifacts: Path,
    postgres_dsn: str,
) -> None:
    """Random workloads and faults from a seed; check, record, replay, shrink."""
    from xmtpd_e2e.explore.checker import CheckOptions
    from xmtpd_e2e.explore.execute import ExecutionOptions, Exploration, explore_once
    from xmtpd_e2e.explore.replay import load_schedule, record_of, write_record
    from xmtpd_e2e.explore.schedule import GenerationOptions, Schedule, generate
    from xmtpd_e2e.explore.scenario_module import scenario_source
    from xmtpd_e2e.explore.shrink import shrink

    kinds = _fault_kinds(faults)
    wanted_kinds = _violation_kinds(shrink_for)
    overrides = _node_env(node_env)
    config = run_config(
        ctx.obj,
        runtime=runtime,
        image_set=image_set,
        xmtpd_version=xmtpd_version,
        image_overrides={"xmtpd": xmtpd_image, "gateway": gateway_image},
        xmtpd_bin=xmtpd_bin,
        gateway_bin=gateway_bin,
        postgres_dsn=postgres_dsn,
        artifacts=artifacts,
        say=lambda line: stderr.print(line, highlight=False),
    )
    check_options = CheckOptions(grace_seconds=grace_seconds, slow_seconds=slow_seconds)
    execution = ExecutionOptions(convergence_timeout=convergence_timeout)
    command = (
        "xmtpd-e2e explore " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        if len(sys.argv) > 2
        else "xmtpd-e2e explore"
    )
    settings: dict[str, Any] = {
        "runtime": runtime,
        "image_set": image_set,
        "xmtpd_version": xmtpd_version,
        "slow_seconds": slow_seconds,
        "grace_seconds": grace_seconds,
        "convergence_timeout": convergence_timeout,
    }

    schedules: list[Schedule] = []
    if replay is not None:
        try:
            replayed, recorded = load_schedule(replay)
        except SetupError as error:
            fail_setup(error)
        schedules = [replayed]
        settings["replayed_from"] = str(replay)
        settings["recorded_settings"] = recorded
    else:
        first = seed if seed is not None else int(time.time()) % 1_000_000
        generation = GenerationOptions(
            duration=duration,
            nodes=nodes,
            gateways=gateways,
            fault_kinds=kinds or (),
            max_publishers=max_publishers,
            max_publishers_per_node=per_node,
            node_env=overrides,
            faults_per_minute=0.0 if kinds == () else GenerationOptions.faults_per_minute,
        )
        settings["generation"] = {
            "duration": duration,
            "nodes": nodes,
            "gateways": gateways,
            "faults": list(kinds) if kinds is not None else "all",
            "max_publishers": max_publishers,
            "max_concurrent_publishers_per_node": per_node,
            "node_env": overrides,
        }
        try:
            schedules = [generate(s, generation) for s in range(first, first + runs)]
        except ValueError as error:
            raise click.UsageError(str(error)) from None

    def execute(schedule: Schedule, label: str) -> Exploration:
        stderr.print(f"[bold]▶ {label}[/]: seed {schedule.seed}, " + "; ".join(schedule.describe()[:1]))
        outcome = explore_once(config, schedule, check_options=check_options, execution=execution)
        color = "green" if outcome.status == "PASS" else "red"
        kinds_found = ", ".join(sorted(outcome.verdict.kinds())) if outcome.verdict else outcome.error
        stderr.print(
            f"[{color}]■ {outcome.status}[/] in {outcome.duration_seconds:.0f}s "
            f"(load average {outcome.load_average[0]:g} → {outcome.load_average[1]:g})"
            + (f": {kinds_found}" if outcome.status != "PASS" else "")
        )
        return outcome

    summary: dict[str, Any] = {"command": command, "runs": []}
    exit_code = 0
    for schedule in schedules:
        exploration = execute(schedule, "replay" if replay else "explore")
        record = record_of(exploration, command=command, settings=settings)
        path = write_record(record_dir / f"explore-{schedule.seed}.json", record)
        entry: dict[str, Any] = {
            "seed": schedule.seed,
            "status": exploration.status,
            "record": str(path),
            "verdict": record["verdict"],
            "error": exploration.error,
            "run_id": exploration.run_id,
            "artifacts": exploration.artifacts,
            "load_average": list(exploration.load_average),
        }
        summary["runs"].append(entry)
        if exploration.status == "SETUP_ERROR":
            _emit(summary, output_format, output_file)
            stderr.print(f"[bold red]setup error:[/] {exploration.error}")
            sys.exit(2)
        if exploration.status == "INTERRUPTED":
            exit_code = 1
            break
        if exploration.status == "PASS":
            continue
        exit_code = 1
        found = exploration.verdict.kinds() if exploration.verdict is not None else set()
        if exploration.failed and wanted_kinds and not found & set(wanted_kinds):
            stderr.print(f"not shrinking: this run showed {', '.join(sorted(found))}, none of --shrink-for")
        elif exploration.failed and not no_shrink:
            result = shrink(
                exploration,
                lambda s: execute(s, "shrink"),
                budget=shrink_budget,
                attempts=shrink_attempts,
                kinds=wanted_kinds,
            )
            minimal = result.exploration
            minimal_record = record_of(minimal, command=command, settings={**settings, "shrunk_from": str(path)})
            minimal_path = write_record(record_dir / f"explore-{schedule.seed}-min.json", minimal_record)
            assert minimal.verdict is not None
            module_path = record_dir / f"explore_seed_{schedule.seed}_min.py"
            module_path.write_text(
                scenario_source(
                    minimal.schedule, minimal.verdict, command=f"{command} (replay: --replay {minimal_path})"
                )
            )
            entry["shrink"] = {
                "runs": result.runs,
                "accepted": result.accepted,
                "stopped": result.stopped,
                "steps": [s.__dict__ for s in result.steps],
                "minimal_schedule": minimal.schedule.describe(),
                "minimal_verdict": minimal_record["verdict"],
                "record": str(minimal_path),
                "scenario_module": str(module_path),
            }
            record["shrink"] = entry["shrink"]
            write_record(path, record)
        break
    _emit(summary, output_format, output_file)
    sys.exit(exit_code)


def _emit(summary: dict[str, Any], output_format: str, output_file: Path | None) -> None:
    if output_format == "json":
        text = json.dumps(summary, indent=2, default=str)
        if output_file:
            output_file.write_text(text + "\n")
        else:
            click.echo(text)
        return
    console = Console(file=output_file.open("w"), width=160) if output_file else Console(soft_wrap=True)
    for run in summary["runs"]:
        verdict = run["verdict"]
        console.print(f"[bold]seed {run['seed']}[/]: {run['status']}  record: {run['record']}")
        if run.get("error") and run["status"] not in ("PASS", "FAIL"):
            console.print(f"  error: {run['error']}")
        if verdict:
            stats = verdict["stats"]
            console.print(
                f"  operations {stats['operations']}, acknowledged envelopes "
                f"{stats['acknowledged_envelopes']}, faults {stats['faults']}, nodes checked "
                f"{stats['nodes_checked']}, publish latency p50 {stats['publish_latency_p50']}s "
                f"max {stats['publish_latency_max']}s"
            )
            for violation in verdict["violations"]:
                console.print(f"  [red]{violation['kind']}[/]: {violation['message']}")
            for note in verdict["notes"]:
                console.print(f"  note: {note}")
        shrunk = run.get("shrink")
        if shrunk:
            accepted = "; ".join(shrunk["accepted"]) or "no smaller schedule still failed"
            console.print(f"  shrunk in {shrunk['runs']} runs ({accepted}) to:")
            for line in shrunk["minimal_schedule"]:
                console.print(f"    {line}")
            for violation in shrunk["minimal_verdict"]["violations"]:
                console.print(f"    [red]{violation['kind']}[/]: {violation['message']}")
            console.print(
                f"  minimal record: {shrunk['record']}  (replay: xmtpd-e2e explore --replay {shrunk['record']})"
            )
            console.print(f"  scenario module: {shrunk['scenario_module']}")
    if output_file:
        console.file.close()
