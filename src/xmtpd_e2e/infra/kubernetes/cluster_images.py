"""The cluster's own images, made locally: the pod sandbox ("pause") and CoreDNS.

No registry is reachable, so the pause image is a tiny static C program that waits for a
signal (and reaps children, as a pod's first process must), and CoreDNS is the binary built
from the Go module proxy; each is packed into an OCI archive and imported into every node's
containerd under the ``k8s.io`` namespace, where the CRI plugin looks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from xmtpd_e2e.errors import SetupError
from xmtpd_e2e.infra.kubernetes.configs import COREDNS_IMAGE, PAUSE_IMAGE
from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout, NodeLayout
from xmtpd_e2e.infra.kubernetes.oci_archive import write_oci_archive
from xmtpd_e2e.infra.kubernetes.versions import coredns_bin_dir, kubernetes_home

__all__ = ["PAUSE_SOURCE", "build_pause", "cluster_image_archives", "import_archive", "node_images"]

PAUSE_SOURCE = r"""
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }

int main(void) {
    signal(SIGINT, stop);
    signal(SIGTERM, stop);
    signal(SIGCHLD, reap);
    for (;;) pause();
}
"""


def build_pause(home: Path | None = None) -> Path:
    """Compile the pause program once (cached next to the Kubernetes binaries)."""
    target = kubernetes_home(home) / "bin" / "pause"
    if target.is_file():
        return target
    source = target.with_suffix(".c")
    target.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(PAUSE_SOURCE)
    completed = subprocess.run(
        ["gcc", "-static", "-Os", "-s", "-o", str(target) + ".partial", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SetupError(
            f"compiling the pause program failed: {completed.stderr.strip()[-300:]}",
            "install gcc and the static C library (Debian: gcc libc6-dev)",
        )
    Path(str(target) + ".partial").rename(target)
    return target


def cluster_image_archives(layout: ClusterLayout, home: Path | None = None) -> list[tuple[Path, str]]:
    """Write the pause and CoreDNS archives; returns (archive, fully qualified reference) pairs."""
    archives = layout.root / "images"
    binary = coredns_bin_dir(home) / "coredns"
    if not binary.is_file():
        raise SetupError(f"CoreDNS is not built ({binary} is missing)", "run `scripts/setup --kubernetes`")
    pause = archives / "pause.oci.tar"
    coredns = archives / "coredns.oci.tar"
    return [
        (pause, write_oci_archive(pause, PAUSE_IMAGE, {"/pause": build_pause(home)}, ["/pause"], directories=())),
        (coredns, write_oci_archive(coredns, COREDNS_IMAGE, {"/coredns": binary}, ["/coredns"])),
    ]


def import_archive(node: NodeLayout, archive: Path) -> None:
    """Import an image archive (OCI or ``docker save``) into the node's containerd."""
    completed = subprocess.run(
        ["ctr", "-a", str(node.containerd_socket), "-n", "k8s.io", "images", "import", str(archive)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SetupError(
            f"importing {archive.name} into {node.name}'s containerd failed: {completed.stderr.strip()[-300:]}",
            f"check the containerd log under {node.cluster.log_dir}",
        )


def node_images(node: NodeLayout) -> list[str]:
    listed = subprocess.run(
        ["ctr", "-a", str(node.containerd_socket), "-n", "k8s.io", "images", "list", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    return listed.stdout.split()
