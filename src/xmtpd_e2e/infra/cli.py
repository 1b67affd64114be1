"""``xmtpd-e2e infra``: start, stop and inspect the machine-level components."""

from __future__ import annotations

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
    """Postgres, the Docker engine and the local images (binaries come from scripts/setup)."""


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
    """Build the local images (no registry needed) from the installed binaries."""
    from xmtpd_e2e.infra.images import build_images

    try:
        build_images(xmtpd_version, force=force, log=lambda line: console.print(line))
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
            table.add_row(name, "[red]missing[/]", error.fix)
    table.add_row("postgres :8765", "running" if PostgresCluster.default().accepts_connections() else "[red]down[/]", "")
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
