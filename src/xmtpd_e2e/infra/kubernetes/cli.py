"""``xmtpd-e2e infra kubernetes``: build, start, inspect and remove the local cluster."""

from __future__ import annotations

import json
import sys
import time

import click
from rich.console import Console

from xmtpd_e2e.cli.errors import fail_setup
from xmtpd_e2e.errors import SetupError

__all__ = ["kubernetes"]

console = Console(stderr=True, soft_wrap=True)


def _say(message: str) -> None:
    console.print(f"[bold]\\[kubernetes][/] {message}")


@click.group("kubernetes")
def kubernetes() -> None:
    """A local Kubernetes cluster (two nodes) built from the Go module proxy and Debian packages."""


@kubernetes.command("build")
def build() -> None:
    """Install the Debian packages and build the pinned components (cached; ~10 min the first time)."""
    from xmtpd_e2e.infra.kubernetes.build import ensure_binaries, ensure_host_packages

    started = time.monotonic()
    try:
        ensure_host_packages(_say)
        report = ensure_binaries(say=_say)
    except SetupError as error:
        fail_setup(error)
    _say(f"binaries ready in {time.monotonic() - started:.0f}s ({json.dumps(report.to_dict())})")


@kubernetes.command("up")
@click.option(
    "--nodes",
    type=click.IntRange(1, 2),
    default=None,
    help="kubelets, the second in its own network namespace (default 2, or what runs)",
)
def up(nodes: int | None) -> None:
    """Start the cluster (idempotent); prints the kubeconfig to use."""
    from xmtpd_e2e.infra.kubernetes.cluster import cluster_up
    from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout

    layout = ClusterLayout.default(node_count=nodes)
    started = time.monotonic()
    try:
        cluster_up(layout, _say)
    except SetupError as error:
        fail_setup(error)
    _say(f"up in {time.monotonic() - started:.0f}s; KUBECONFIG={layout.admin_kubeconfig}")


@kubernetes.command("down")
def down() -> None:
    """Stop the cluster and restore the host (sysctls, iptables/nftables, mounts, cgroups, directories)."""
    from xmtpd_e2e.infra.kubernetes.cluster import cluster_down
    from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout

    started = time.monotonic()
    problems = cluster_down(ClusterLayout.default(), _say)
    for problem in problems:
        console.print(f"[yellow]left behind:[/] {problem}")
    _say(f"down in {time.monotonic() - started:.0f}s" + ("" if not problems else f" with {len(problems)} problem(s)"))
    if problems:
        sys.exit(1)


@kubernetes.command("status")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status(as_json: bool) -> None:
    """Which daemons run and which nodes are Ready."""
    from xmtpd_e2e.infra.kubernetes.cluster import cluster_status
    from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout

    state = cluster_status(ClusterLayout.default())
    if as_json:
        click.echo(json.dumps(state.to_dict(), indent=2))
    else:
        for name, running in state.daemons.items():
            console.print(f"{name:40} {'running' if running else '[yellow]stopped[/]'}")
        for name, ready in state.nodes.items():
            console.print(f"node {name:35} {ready}")
        console.print(f"kubeconfig: {state.kubeconfig}")
    sys.exit(0 if state.up else 1)
