"""The ``xmtpd-e2e`` command: ``list``, ``run``, ``explore``, ``cleanup`` and ``infra``.

Exit codes: 0 all scenarios passed; 1 a scenario failed; 2 a usage or setup error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from xmtpd_e2e.cli.errors import fail_setup
from xmtpd_e2e.cli.options import choice_option, option, validation_options
from xmtpd_e2e.config import AUTO_RUNTIME, KUBE_ACCESS, LOCAL_NETWORKS, RunConfig, XMTPD_VERSION, default_home
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.logs import LEVELS, configure_logging
from xmtpd_e2e.runner.scenario import SUITES, Registry, ScenarioInfo
from xmtpd_e2e.runtime.registry import RUNTIMES

__all__ = ["main", "cli"]

# soft_wrap: a path or command in an error message must stay copy-pasteable, never broken by wrapping.
stderr = Console(stderr=True, soft_wrap=True)


_RUNTIME_HELP = "where services run: " + "; ".join(
    [f"{entry.name}: {entry.description}" for entry in RUNTIMES]
    + [f"{AUTO_RUNTIME}: the first of {', '.join(e.name for e in RUNTIMES if e.auto)} that can run here"]
)


def _load(modules: tuple[str, ...]) -> Registry:
    from xmtpd_e2e.runner.discovery import load_scenarios

    try:
        return load_scenarios(modules, from_source=True)  # built-ins imported only when they run
    except SetupError as error:
        fail_setup(error)


def _duration(seconds: float) -> str:
    return f"~{seconds / 60:.0f} min" if seconds >= 120 else f"~{seconds:.0f} s"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@choice_option("--log-level", LEVELS, "info", "log verbosity")
@choice_option("--log-encoding", ("console", "json"), "console", "log format on stderr")
@click.pass_context
def cli(ctx: click.Context, log_level: str, log_encoding: str) -> None:
    """End-to-end tests for xmtpd: real clusters, chaos, database-level verification."""
    configure_logging(log_level, log_encoding)
    ctx.obj = {"log_level": log_level, "log_encoding": log_encoding}


@cli.command("list")
@choice_option("--output-format", ("human", "json"), "human", "output format")
@option("--suite", type=click.Choice(SUITES), default=None, help="only scenarios of this suite")
@option("--scenarios", "scenario_modules", multiple=True, help="also load scenarios from this module or .py file")
def list_command(output_format: str, suite: str | None, scenario_modules: tuple[str, ...]) -> None:
    """List every scenario with its description, suites and typical duration."""
    registry = _load(scenario_modules)
    items = registry.in_suite(suite) if suite else list(registry)
    if output_format == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "description": s.description,
                        "suites": list(s.suites),
                        "typical_seconds": s.typical_seconds,
                        "invariants_skipped": s.invariants_skipped,
                    }
                    for s in items
                ],
                indent=2,
            )
        )
        return
    from rich.table import Table

    table = Table(show_edge=False)
    for column in ("NAME", "SUITES", "TYPICAL", "DESCRIPTION"):
        table.add_column(column, overflow="fold")
    for s in items:
        table.add_row(s.name, ",".join(s.suites), _duration(s.typical_seconds), s.description)
    Console(width=max(120, Console().width)).print(table)


@cli.command("run")
@option("--test", "tests", multiple=True, help="scenario name (repeatable, or comma-separated)")
@option("--suite", type=click.Choice(SUITES), default=None, help="run a whole suite (default: fast, unless --test)")
@choice_option("--runtime", RUNTIMES.choices(), AUTO_RUNTIME, _RUNTIME_HELP)
@choice_option(
    "--local-network",
    LOCAL_NETWORKS,
    "auto",
    "local runtime: a network namespace per service (auto: when root; network faults need it)",
)
@choice_option(
    "--image-set",
    ("auto", "upstream", "local"),
    "auto",
    "docker images: upstream's, built by `infra build-images`, or auto: upstream's if present or "
    "pullable, else the local ones",
)
@option("--xmtpd-image", default=None, help="node image (docker runtime)")
@option("--gateway-image", default=None, help="gateway image (docker runtime)")
@option("--chain-image", default=None, help="anvil + XMTP contracts image (docker runtime)")
@option("--xmtpd-bin", type=click.Path(path_type=Path), default=None, help="node binary (local runtime)")
@option("--gateway-bin", type=click.Path(path_type=Path), default=None, help="gateway binary (local runtime)")
@validation_options
@option(
    "--xmtpd-version", default=XMTPD_VERSION, show_default=True, help="xmtpd version (installed binaries, VERSION env)"
)
@choice_option("--output-format", ("human", "json", "junit"), "human", "result format on stdout (or --output-file)")
@option("--output-file", type=click.Path(path_type=Path), default=None, help="write results here instead of stdout")
@option("--timeout", type=click.FloatRange(min=1), default=None, help="seconds per scenario (default: its own budget)")
@option(
    "--artifacts",
    type=click.Path(path_type=Path),
    default=Path("artifacts"),
    show_default=True,
    help="where artifacts of failed scenarios go",
)
@option("--artifacts-always", is_flag=True, default=False, help="keep artifacts of passing scenarios too")
@option("--scenarios", "scenario_modules", multiple=True, help="also load scenarios from this module or .py file")
@option(
    "--parallel",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="scenarios at once, each in its own process",
)
@option("--postgres-dsn", default=RunConfig.postgres_dsn, help="admin DSN of the host Postgres")
@option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="also write a self-contained HTML report (timeline, node samples, interleaved logs) here",
)
@option("--kube-context", default=None, help="kubeconfig context (kubernetes runtime; the kubeconfig is KUBECONFIG's)")
@choice_option(
    "--kube-access",
    KUBE_ACCESS,
    "auto",
    "kubernetes runtime: reach pods by their IP (the runner must route to the pod network), through "
    "API port-forwards (any cluster), or auto: pod IPs when they answer",
)
@click.pass_context
def run_command(
    ctx: click.Context,
    tests: tuple[str, ...],
    suite: str | None,
    runtime: str,
    local_network: str,
    image_set: str,
    xmtpd_image: str | None,
    gateway_image: str | None,
    chain_image: str | None,
    xmtpd_bin: Path | None,
    gateway_bin: Path | None,
    mls_validation_bin: Path | None,
    mls_validation_image: str | None,
    xmtpd_version: str,
    output_format: str,
    output_file: Path | None,
    timeout: float | None,
    artifacts: Path,
    artifacts_always: bool,
    scenario_modules: tuple[str, ...],
    parallel: int,
    postgres_dsn: str,
    html_path: Path | None,
    kube_context: str | None,
    kube_access: str,
) -> None:
    """Run scenarios, each in a fresh isolated environment."""
    if html_path is not None:
        _check_writable(html_path, "--html")
    registry = _load(scenario_modules)
    selected = _select(registry, tests, suite)
    if output_file is not None:
        _check_output_file(output_file)
    from xmtpd_e2e.cli.run_settings import run_config

    config = run_config(
        ctx.obj,
        runtime=runtime,
        image_set=image_set,
        xmtpd_version=xmtpd_version,
        image_overrides={"xmtpd": xmtpd_image, "gateway": gateway_image, "chain": chain_image},
        xmtpd_bin=xmtpd_bin,
        gateway_bin=gateway_bin,
        postgres_dsn=postgres_dsn,
        artifacts=artifacts,
        say=lambda line: stderr.print(line, highlight=False),
        local_network=local_network,
        artifacts_always=artifacts_always,
        timeout=timeout,
        keep_logs_for_report=html_path is not None,
        kube_context=kube_context,
        kube_access=kube_access,
        mls_validation_bin=mls_validation_bin,
        mls_validation_image=mls_validation_image,
    )
    _warn_about_leftovers(config)
    from xmtpd_e2e.progress import enable_live_status

    restore_stderr = enable_live_status()
    if parallel > 1 and len(selected) > 1:
        from xmtpd_e2e.runner.parallel import run_in_workers

        result = run_in_workers(selected, config, parallel, scenario_modules, _progress)
    else:
        from xmtpd_e2e.runner.execution import Runner
        from xmtpd_e2e.runner.lifecycle import default_environment_factory

        try:
            factory = default_environment_factory()
        except SetupError as error:
            fail_setup(error)
        result = Runner(config, factory, progress=_progress).run(selected)
    restore_stderr()
    written = _emit(result, output_format, output_file)
    if html_path is not None:
        _write_html(result.as_dict(), html_path)
    for scenario in result.scenarios:
        if scenario.status.value == "SETUP_ERROR" and scenario.error:
            stderr.print(f"[bold red]setup error:[/] {scenario.error}")
    # Results that could not go where asked went to stdout; a passing run must still not look clean.
    sys.exit(result.exit_code() or (0 if written else 2))


def _check_output_file(path: Path) -> None:
    """Fail before any scenario starts if the results could not be written to ``path``."""
    if path.is_dir():
        fail_setup(SetupError(f"--output-file {path} is a directory", "name a file, e.g. results.json"))
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a"):
            pass
    except OSError as error:
        fail_setup(
            SetupError(
                f"cannot write the results to --output-file {path}: {error.strerror or error}",
                "choose a path in a directory you can write to",
            )
        )
    if not existed:
        path.unlink(missing_ok=True)


def _check_writable(path: Path, flag: str) -> None:
    """Fail before anything runs if ``path`` cannot be written (exit 2, nothing left behind)."""
    folder = path.resolve().parent
    if not folder.is_dir():
        fail_setup(SetupError(f"{flag} {path}: the folder {folder} does not exist", "create it or choose another path"))
    if path.is_dir():
        fail_setup(SetupError(f"{flag} {path} is a directory", "give a file name, e.g. report.html"))


def _write_html(results: dict[str, object], path: Path) -> None:
    from xmtpd_e2e.report import render_html

    try:
        written = render_html(results, path)
    except SetupError as error:
        stderr.print(f"[bold red]error:[/] {error.problem}")
        return
    stderr.print(f"HTML report: {written}")


@cli.command("report")
@click.argument("results_file", type=click.Path(path_type=Path, dir_okay=False))
@option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="where to write the self-contained HTML report",
)
@option("--title", default=None, help="page title (default: xmtpd-e2e run)")
def report_command(results_file: Path, html_path: Path, title: str | None) -> None:
    """Render the HTML report of an earlier run from its results JSON (and its artifacts)."""
    from xmtpd_e2e.report import load_results_file, render_html

    _check_writable(html_path, "--html")
    try:
        data = load_results_file(results_file)
        typical = {s.name: s.typical_seconds for s in _load(())}
        written = render_html(data, html_path, title=title, typical=typical)
    except SetupError as error:
        fail_setup(error)
    stderr.print(f"HTML report: {written}")


def _select(registry: Registry, tests: tuple[str, ...], suite: str | None) -> list[ScenarioInfo]:
    names = [n.strip() for t in tests for n in t.replace(" ", ",").split(",") if n.strip()]
    if names:
        unknown = [n for n in names if registry.get(n) is None]
        if unknown:
            raise click.UsageError(
                f"unknown scenario(s): {', '.join(unknown)}. Known scenarios: {', '.join(registry.names())}"
            )
        return [registry.get(n) for n in dict.fromkeys(names)]  # type: ignore[misc]
    return registry.in_suite(suite or "fast")


def _progress(event: str, info: ScenarioInfo, result: object) -> None:
    if event == "start":
        stderr.print(f"[bold]▶ {info.name}[/] ({_duration(info.typical_seconds)})")
    else:
        status = getattr(result, "status").value
        color = "green" if status == "PASS" else "red"
        stderr.print(f"[{color}]■ {info.name} {status}[/] in {getattr(result, 'duration_seconds'):.1f}s")


def _emit(result: object, output_format: str, output_file: Path | None) -> bool:
    """Write the results; if ``output_file`` cannot be written, to stdout instead.

    Returns False when the results did not reach ``output_file``.
    """
    from xmtpd_e2e.runner.reports import render_human, render_json, render_junit
    from xmtpd_e2e.runner.results import RunResult

    assert isinstance(result, RunResult)
    if output_file is not None:
        try:
            output_file.parent.mkdir(parents=True, exist_ok=True)
            if output_format == "human":
                with output_file.open("w") as handle:
                    render_human(result, Console(file=handle, width=160))
            else:
                text = render_json(result) if output_format == "json" else render_junit(result)
                output_file.write_text(text + "\n")
            return True
        except OSError as error:
            stderr.print(
                f"[bold red]error:[/] could not write the results to {output_file} "
                f"({error.strerror or error}); here they are on stdout instead"
            )
    if output_format == "human":
        render_human(result, Console())
    else:
        click.echo(render_json(result) if output_format == "json" else render_junit(result))
    return output_file is None


def _warn_about_leftovers(config: RunConfig) -> None:
    from xmtpd_e2e.record import RunState

    dead = [s.run_id for s in RunState.all(config.home) if not s.owner_alive() and s.resources()]
    if dead:
        stderr.print(
            f"[yellow]warning:[/] earlier runs left resources behind ({', '.join(dead)}); "
            "remove them with `xmtpd-e2e cleanup`"
        )


@cli.command("cleanup")
@option("--run", "run_id", default=None, help="only this run")
@option("--all", "all_runs", is_flag=True, default=False, help="also runs whose process is still alive")
@option(
    "--templates",
    is_flag=True,
    default=False,
    help="also drop the migrated node-database templates (e2e_template_*, one per xmtpd build) from "
    "the Postgres server; the next run makes its build's again",
)
@option("--postgres-dsn", default=RunConfig.postgres_dsn, help="admin DSN of the host Postgres (--templates)")
def cleanup_command(run_id: str | None, all_runs: bool, templates: bool, postgres_dsn: str) -> None:
    """Remove what crashed or killed runs left behind (containers, processes, databases, dirs)."""
    import logging

    from xmtpd_e2e.record import RunState
    from xmtpd_e2e.runner.cleanup import remove_resources

    states = RunState.all(default_home())
    for partial in RunState.remove_partial_writes(default_home()):
        stderr.print(f"removed {partial} (a write cut short)")
    if run_id:
        states = [s for s in states if s.run_id == run_id]
        if not states:
            raise click.UsageError(f"no recorded run {run_id!r}")
    problems: list[str] = []
    for state in states:
        if state.owner_alive() and not (all_runs or run_id):
            stderr.print(f"skipping {state.run_id}: its process {state.pid} is still running (use --all)")
            continue
        found = remove_resources(state, logger=logging.getLogger("xmtpd_e2e.cleanup"))
        problems += found
        if not found:
            state.discard()
        stderr.print(f"{state.run_id}: {'removed' if not found else 'problems: ' + '; '.join(found)}")
    if not states:
        stderr.print("nothing to clean up")
    if templates:
        problems += _drop_node_database_templates(postgres_dsn)
    sys.exit(1 if problems else 0)


def _drop_node_database_templates(dsn: str) -> list[str]:
    """``cleanup --templates``: what could not be dropped, as problems."""
    import psycopg

    from xmtpd_e2e.services.node_database_template import drop_templates

    try:
        dropped = drop_templates(dsn)
    except (psycopg.Error, OSError) as error:
        problem = f"node-database templates not dropped: {error}"
        stderr.print(f"{problem}\n  fix: start Postgres (`xmtpd-e2e infra up`) or pass --postgres-dsn")
        return [problem]
    stderr.print(f"dropped {len(dropped)} node-database template(s){': ' + ', '.join(dropped) if dropped else ''}")
    return []


def _mount_infra() -> None:
    from xmtpd_e2e.cli.explore import explore_command
    from xmtpd_e2e.infra.cli import infra

    cli.add_command(infra)
    cli.add_command(explore_command)


_mount_infra()


def main() -> None:
    # Not click's standalone mode: it turns Ctrl-C into exit 1, the code of a failed scenario.
    try:
        code = cli.main(prog_name="xmtpd-e2e", standalone_mode=False)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except click.Abort as error:
        interrupted = isinstance(error.__cause__, KeyboardInterrupt)
        stderr.print("interrupted" if interrupted else "aborted")
        sys.exit(130 if interrupted else 1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
