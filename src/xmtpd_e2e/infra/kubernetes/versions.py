"""Pinned versions and cache locations of the local Kubernetes cluster's parts.

Kubernetes is pinned to 1.34: it is the last release whose kubelet still runs on cgroup v1 with
containerd 1.x (Debian 12's), which is what these machines have.
"""

from __future__ import annotations

from pathlib import Path

from xmtpd_e2e.config import default_home

__all__ = [
    "KUBERNETES_VERSION",
    "STAGING_VERSION",
    "COREDNS_VERSION",
    "KUBERNETES_COMPONENTS",
    "kubernetes_home",
    "kubernetes_bin_dir",
    "coredns_bin_dir",
]

KUBERNETES_VERSION = "v1.34.3"
# Every staging module k8s.io/X of Kubernetes 1.N.P is published as k8s.io/X v0.N.P.
STAGING_VERSION = "v0.34.3"
COREDNS_VERSION = "v1.12.1"
KUBERNETES_COMPONENTS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)


def kubernetes_home(home: Path | None = None) -> Path:
    return (home or default_home()) / "kubernetes"


def kubernetes_bin_dir(home: Path | None = None) -> Path:
    return kubernetes_home(home) / "bin" / f"kubernetes-{KUBERNETES_VERSION}"


def coredns_bin_dir(home: Path | None = None) -> Path:
    return kubernetes_home(home) / "bin" / f"coredns-{COREDNS_VERSION}"
