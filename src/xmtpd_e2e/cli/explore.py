"""``xmtpd-e2e explore``: seeded random workloads and faults against real clusters.

Each run draws (or replays) a schedule, executes it in a fresh environment through the runner,
checks the history against the healed databases, and writes a replayable record.  A failure is
shrunk to a smaller schedule, written as a record and as a scenario module.  Exit codes as
``run``: 0 every run passed, 1 a violation was found (or a run did not complete), 2 a usage or
setup error, 128 + N when signal N interrupted it (130 for Ctrl-C).

Input is checked before anything slow happens: a replay file is read before the image set is
resolved, so a typo costs no Docker probe.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from xmtpd_e2e.cli.errors import fail_setup
from xmtpd_e2e.cli.explore_session import ExploreSession
from xmtpd_e2e.cli.options import choice_option, option, validation_options
from xmtpd_e2e.config import AUTO_RUNTIME, XMTPD_VERSION, RunConfig
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.runtime.image_sets import IMAGE_SETS
from xmtpd_e2e.runtime.registry import RUNTIMES

__all__ = ["explore_command"]


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
@option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="seed of the first run, 0 or more (default: from the clock)",
)
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
@option(
    "--readers",
    type=click.IntRange(min=0, max=8),
    default=None,
    help="readers of the nodes: paging by cursor, re-reading topics, streaming (default: drawn, 1-3)",
)
@option(
    "--users",
    type=click.IntRange(min=0, max=8),
    default=0,
    show_default=True,
    help="real XMTP users (libxmtp) in one group, sending texts through the run; 0 = none, else 2-8 "
    "(needs the MLS validation service: --mls-validation-bin)",
)
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
@option(
    "--replay",
    type=click.Path(path_type=Path),
    default=None,
    help="run the schedule of this record again, with the settings it ran with (flags given override them)",
)
@option(
    "--regression",
    is_flag=True,
    default=False,
    help="replay each known finding (explore/known_findings.py) --regression-runs times; report how often each shows",
)
@option("--regression-runs", type=click.IntRange(min=1), default=3, show_default=True, help="replays per finding")
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
    "--recovery-budget",
    "recovery_budget",
    multiple=True,
    help="KIND=SECONDS: a recovery slower than this after a fault of KIND is a finding (* = every kind; repeatable)",
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
@validation_options
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
@option(
    "--artifacts-always",
    is_flag=True,
    default=False,
    help="keep artifacts (every service's log) of passing runs too",
)
@option("--postgres-dsn", default=RunConfig.postgres_dsn, help="admin DSN of the host Postgres")
@click.pass_context
def explore_command(ctx: click.Context, /, **params: Any) -> None:
    """Random workloads and faults from a seed; check, record, replay, shrink."""
    params["fault_kinds"] = _fault_kinds(params.pop("faults"))
    params["shrink_for"] = _violation_kinds(params["shrink_for"])
    params["node_env"] = _node_env(params["node_env"])
    params["recovery_budgets"] = _recovery_budgets(params.pop("recovery_budget"))
    if params["replay"] is not None and params["regression"]:
        raise click.UsageError("--replay and --regression replay different things: give one of them")
    explicit = {name for name in ctx.params if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
    if "users" in explicit and (params["replay"] is not None or params["regression"]):
        raise click.UsageError("--users draws a new plan; a replay runs its record's plan with the users it had")
    if params["users"] == 1:
        raise click.BadParameter("users make one group together: give at least 2 (or 0 for none)", param_hint="--users")
    if "recovery_budget" in explicit:
        explicit.add("recovery_budgets")
    session = ExploreSession(ctx.obj, params, _command_line(), _replays(params), explicit)
    if session.replays is None:
        session.schedules = _generated(params)
    sys.exit(session.run())


def _command_line() -> str:
    arguments = " ".join(shlex.quote(a) for a in sys.argv[2:])
    return f"xmtpd-e2e explore {arguments}".rstrip()


def _recovery_budgets(values: tuple[str, ...]) -> dict[str, float]:
    """``packet-loss=60`` -> {"packet-loss": 60.0}; ``*=30`` sets every kind without its own."""
    budgets: dict[str, float] = {}
    for value in values:
        kind, eq, seconds = value.partition("=")
        try:
            budget = float(seconds)
        except ValueError:
            budget = -1.0
        if not eq or not kind.strip() or budget < 0:
            raise click.BadParameter(
                f"{value!r} should look like packet-loss=60 (a fault kind or *, seconds >= 0)",
                param_hint="--recovery-budget",
            )
        budgets[kind.strip()] = budget
    return budgets


def _replays(params: dict[str, Any]) -> list[tuple[Path, Any, dict[str, Any]]] | None:
    """The records to replay, read before anything slow; None when generating from seeds."""
    from xmtpd_e2e.explore.known_findings import finding_records
    from xmtpd_e2e.explore.replay import load_schedule

    try:
        if params["replay"] is not None:
            paths = [params["replay"]]
        elif params["regression"]:
            paths = finding_records()
        else:
            return None
        return [(path, *load_schedule(path)) for path in paths]
    except SetupError as error:
        fail_setup(error)


def _generated(params: dict[str, Any]) -> list[Any]:
    from xmtpd_e2e.explore.schedule import GenerationOptions, generate

    kinds = params["fault_kinds"]
    first = params["seed"] if params["seed"] is not None else int(time.time()) % 1_000_000
    generation = GenerationOptions(
        duration=params["duration"],
        nodes=params["nodes"],
        gateways=params["gateways"],
        fault_kinds=kinds or (),
        max_publishers=params["max_publishers"],
        max_publishers_per_node=params["per_node"],
        node_env=params["node_env"],
        readers=params["readers"],
        users=params["users"],
        faults_per_minute=0.0 if kinds == () else GenerationOptions.faults_per_minute,
    )
    try:
        return [generate(s, generation) for s in range(first, first + params["runs"])]
    except ValueError as error:
        raise click.UsageError(str(error)) from None
