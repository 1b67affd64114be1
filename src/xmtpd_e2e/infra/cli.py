"""``xmtpd-e2e infra``: start, stop and inspect the machine-level components."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from xmtpd_e2e.cli.errors import fail_setup
from xmtpd_e2e.config import XMTPD_VERSION, local_images
from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.binaries import KNOWN_BINARIES, resolve_binary

__all__ = ["infra"]

console = Console(stderr=True, soft_wrap=True)


@click.group()
def infra() -> None:
    """Install and start what runs need: binaries, Postgres, the Docker engine, the local images."""


def _say(message: str) -> None:
    click.echo(f"{click.style('[setup]', bold=True)} {message}", err=True)


@infra.command("install")
@click.option(
    "--docker/--no-docker", default=True, show_default=True, help="also the Docker engine and the local images"
)
@click.option("--xmtpd-version", default=XMTPD_VERSION, show_default=True, envvar="XMTPD_E2E_XMTPD_VERSION")
@click.option("--check", is_flag=True, help="only report what is installed and what is missing (exit 1 if anything is)")
def install_command(docker: bool, xmtpd_version: str, check: bool) -> None:
    """Install (pinned, cached, idempotent) and start everything runs need; a second run only checks.

    Debian packages (as root, with apt-get): Postgres, Redis, docker.io; xmtpd's node, gateway and
    CLI and toxiproxy from the Go module proxy; anvil from npm; then Postgres on 127.0.0.1:8765
    and dockerd started, and the local images built.  All of it goes to $XMTPD_E2E_HOME (default
    ~/.cache/xmtpd-e2e).
    """
    from xmtpd_e2e.config import default_home
    from xmtpd_e2e.infra.install import components, install_system_packages
    from xmtpd_e2e.infra.system_packages import missing_packages

    parts = {"docker"} if docker else set()
    home = default_home()
    if check:
        missing = [f"{p} (Debian package)" for p in missing_packages(parts)]
        for component in components(xmtpd_version, home):
            installed = component.installed()
            _say(f"{component.name}: {'installed' if installed else 'missing'}")
            if not installed:
                missing.append(component.name)
        _say(
            "everything is installed"
            if not missing
            else f"missing: {', '.join(missing)}; run `xmtpd-e2e infra install`"
        )
        sys.exit(1 if missing else 0)
    try:
        install_system_packages(parts, _say)
        for component in components(xmtpd_version, home):
            if component.installed():
                _say(f"{component.name}: installed")
                continue
            _say(f"{component.name}: {component.installing_message}")
            component.install(_say)
    except SetupError as error:
        click.echo(
            f"{click.style('[setup] error:', bold=True, fg='red')} {error.problem}\n  fix: {error.fix}", err=True
        )
        sys.exit(2)
    ctx = click.get_current_context()
    ctx.invoke(up, docker=docker)
    if docker:
        ctx.invoke(build_images_command, xmtpd_version=xmtpd_version, force=False)
    _say("ready")


@infra.command("up")
@click.option("--docker/--no-docker", default=True, show_default=True, help="also make sure a Docker engine runs")
def up(docker: bool) -> None:
    """Start Postgres on 127.0.0.1:8765 (and dockerd when needed); idempotent."""
    from xmtpd_e2e.infra.docker_engine import ensure_docker_engine
    from xmtpd_e2e.infra.postgres_cluster import PostgresCluster

    try:
        console.print(f"postgres: {PostgresCluster.default().ensure_running()}")
        if docker:
            console.print(f"docker: {ensure_docker_engine()}")
    except SetupError as error:
        fail_setup(error)


@infra.command("down")
def down() -> None:
    """Stop what `infra up` started (our Postgres cluster, a dockerd we launched)."""
    from xmtpd_e2e.infra.docker_engine import stop_our_dockerd
    from xmtpd_e2e.infra.postgres_cluster import PostgresCluster

    console.print(f"postgres: {PostgresCluster.default().stop()}")
    console.print(f"docker: {stop_our_dockerd()}")


@infra.command("build-images")
@click.option("--xmtpd-version", default=XMTPD_VERSION, show_default=True, envvar="XMTPD_E2E_XMTPD_VERSION")
@click.option("--force", is_flag=True, help="rebuild even when the inputs did not change")
def build_images_command(xmtpd_version: str, force: bool) -> None:
    """Build the local images (no registry needed) from the installed binaries, and the MLS
    validation service's when its binary is found (XMTPD_E2E_MLS_VALIDATION_BIN, $XMTPD_E2E_HOME/bin, PATH)."""
    from xmtpd_e2e.config import RunConfig
    from xmtpd_e2e.infra.images import build_images
    from xmtpd_e2e.infra.validation import find_validation_bin

    try:
        validation_bin = find_validation_bin(RunConfig())
        build_images(xmtpd_version, force=force, log=lambda line: console.print(line), validation_bin=validation_bin)
    except SetupError as error:
        fail_setup(error)
    console.print("select them with `xmtpd-e2e run --runtime docker --image-set local`")


@infra.command("status")
@click.option("--xmtpd-version", default=XMTPD_VERSION, show_default=True, envvar="XMTPD_E2E_XMTPD_VERSION")
def status(xmtpd_version: str) -> None:
    """What is installed and running."""
    from xmtpd_e2e.infra.postgres_cluster import PostgresCluster
    from xmtpd_e2e.runtime.docker import docker_engine_answers

    table = Table("component", "state", "detail")
    for name in KNOWN_BINARIES:
        try:
            table.add_row(name, "installed", str(resolve_binary(name, version=xmtpd_version)))
        except SetupError as error:
            optional = name == "mls-validation-service"  # libxmtp's; only scenarios with real users need it
            table.add_row(name, "[yellow]not configured[/]" if optional else "[red]missing[/]", error.fix)
    table.add_row(
        "postgres :8765", "running" if PostgresCluster.default().accepts_connections() else "[red]down[/]", ""
    )
    engine = docker_engine_answers()
    table.add_row("docker engine", "running" if engine else "[yellow]down[/]", "")
    if engine:
        import docker

        client = docker.from_env()
        tags = {t for image in client.images.list() for t in image.tags}
        for tag in local_images(xmtpd_version).__dict__.values():
            table.add_row(f"image {tag}", "built" if tag in tags else "[yellow]missing[/]", "")
    Console(width=200).print(table)


def _mount_kubernetes() -> None:
    from xmtpd_e2e.infra.kubernetes.cli import kubernetes

    infra.add_command(kubernetes)


_mount_kubernetes()
