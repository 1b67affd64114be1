"""Running the host's network tools inside a service's network namespace.

Containers here are built FROM scratch (no shell, no iptables inside), and the local runtime's
namespaces hold nothing but the service, so every rule is applied by running the *host's*
``iptables-restore``, ``tc`` and ``ip`` under ``nsenter --net=<namespace>``: only the network
namespace is entered, the binaries and libraries stay the host's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from xmtpd_e2e.errors import SetupError, ServiceError

__all__ = [
    "run_in_namespace",
    "require_network_tools",
    "has_own_namespace",
    "tcp_sockets",
    "NETWORK_TOOLS",
    "NamespaceGone",
]

NETWORK_TOOLS = ("nsenter", "iptables-restore", "tc", "ip")
NEEDS_ROOT = (
    "partitions, one-way cuts, packet loss and bandwidth limits (iptables and tc inside each "
    "service's network namespace)"
)


class NamespaceGone(ServiceError):
    """The namespace no longer exists (its container or process is gone)."""


def require_network_tools() -> None:
    """Raise a SetupError naming what is missing when network faults cannot be applied here."""
    if os.geteuid() != 0:
        raise SetupError(
            f"{NEEDS_ROOT} need root; this runner is not root",
            "run as root (or with CAP_NET_ADMIN and CAP_SYS_ADMIN); toxiproxy faults (latency, "
            "connection reset, timeout, proxy bandwidth) and pause/resume work without it",
        )
    missing = [tool for tool in NETWORK_TOOLS if shutil.which(tool) is None]
    if missing:
        raise SetupError(
            f"{NEEDS_ROOT} need the commands {', '.join(missing)}, not found on PATH",
            "install them (Debian: apt-get install iptables iproute2 util-linux)",
        )


def run_in_namespace(
    namespace: str, argv: Sequence[str], *, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (a host binary) with only its network namespace switched to ``namespace``."""
    if not os.path.exists(namespace):
        raise NamespaceGone(f"network namespace {namespace} no longer exists")
    command = ["nsenter", f"--net={namespace}", *argv]
    completed = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=30)
    if check and completed.returncode != 0:
        if not os.path.exists(namespace):
            raise NamespaceGone(f"network namespace {namespace} disappeared while running {argv[0]}")
        detail = (completed.stderr or completed.stdout).strip()
        raise ServiceError(f"{' '.join(argv)} in {namespace} failed (exit {completed.returncode}): {detail}")
    return completed


def has_own_namespace(namespace: str | os.PathLike[str]) -> bool:
    """True when ``namespace`` is not the runner's own network namespace (a service of the
    local runtime without ``--local-network`` shares the host's, where its sockets are
    everybody's)."""
    try:
        theirs = os.stat(namespace)
        ours = os.stat("/proc/self/ns/net")
    except OSError:
        return False
    return (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino)


def tcp_sockets(namespace: str) -> str:
    """Every TCP socket of ``namespace`` with the kernel's view of it (``ss -tinoe``).

    Kept with a failed run's artifacts because it is the only record of *why* a stream is
    silent: a connection waiting on retransmissions shows its timer (``timer:(on,...)``), its
    ``backoff`` count and ``rto``, one starved by flow control shows bytes queued and none in
    flight.  Nothing the services log says this.
    """
    completed = run_in_namespace(namespace, ["ss", "-tinoe"], check=False)
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip()
        return f"ss -tinoe failed (exit {completed.returncode}): {detail}\n"
    return completed.stdout
