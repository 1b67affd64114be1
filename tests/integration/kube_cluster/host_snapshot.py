"""A comparable picture of the host parts a Kubernetes cluster changes.

Other work on the machine changes cgroups, mounts, links, network namespaces and per-interface
sysctls at the same time -- Docker containers of parallel runs, and parallel local-runtime runs
(namespaces ``xe2e-<run>-...``, bridges ``xb...``, veths ``xv...``, the ``ifb`` devices their
bandwidth faults load) -- so those are left out; what remains must be identical before bring-up
and after teardown.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from xmtpd_e2e.infra.kubernetes.host_state import FIXED_PATHS, iptables_chains, mount_points, nft_tables

__all__ = ["HostSnapshot", "snapshot"]

_VOLATILE = re.compile(
    r"^(fs\.(dentry-state|file-nr|inode-nr|inode-state|quota\.)|kernel\.(random\.|ns_last_pid|pty\.nr|sched_domain)"
    r"|net\.netfilter\.nf_conntrack_count|net\.ipv[46]\.(conf|neigh)\.(?!all\.|default\.)"
    r"|net\.ipv6\.route\.gc_|dev\.|user\.|vm\.stat_refresh)"
)
_OTHERS_MOUNTS = (
    "/var/lib/docker",
    "/run/docker",
    "/var/run/docker",
    "/proc",
    "/sys/fs/cgroup",
    "/tmp",
    "/run/netns/xe2e-",
)
_OTHERS_LINKS = ("veth", "br-", "xb", "xv", "ifb")
_OTHERS_NETNS = "xe2e-"


@dataclass(frozen=True)
class HostSnapshot:
    sysctls: dict[str, str]
    iptables: dict[str, dict[str, list[str]]]
    nft: list[str]
    mounts: list[str]
    cgroups: list[str]
    paths: dict[str, bool]
    links: list[str]
    netns: list[str]


def _sysctls() -> dict[str, str]:
    listed = subprocess.run(["sysctl", "-a"], capture_output=True, text=True, check=False).stdout
    values = {}
    for line in listed.splitlines():
        key, _, value = line.partition(" = ")
        if key and not _VOLATILE.match(key):
            values[key] = value
    return values


def _cgroups() -> list[str]:
    found = []
    for controller in Path("/sys/fs/cgroup").iterdir():
        if not controller.is_dir() or controller.is_symlink():
            continue
        for child in controller.iterdir():
            if child.is_dir() and child.name not in ("docker",):
                found.append(str(child))
    return sorted(found)


def _links() -> list[str]:
    listed = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=False).stdout
    return sorted(
        line.split()[0].split("@")[0] for line in listed.splitlines() if line and not line.startswith(_OTHERS_LINKS)
    )


def snapshot() -> HostSnapshot:
    return HostSnapshot(
        sysctls=_sysctls(),
        iptables={family: iptables_chains(family) for family in ("ipv4", "ipv6")},
        nft=nft_tables(),
        mounts=sorted(p for p in set(mount_points()) if not p.startswith(_OTHERS_MOUNTS)),
        cgroups=_cgroups(),
        paths={path: os.path.lexists(path) for path in (*FIXED_PATHS, "/run/xmtpd-e2e-k8s")},
        links=_links(),
        netns=sorted(n for n in os.listdir("/run/netns") if not n.startswith(_OTHERS_NETNS))
        if os.path.isdir("/run/netns")
        else [],
    )
