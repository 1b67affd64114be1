"""What the cluster changes on the host, recorded before bring-up and undone by teardown.

The kubelet sets kernel sysctls; the kubelet, kube-proxy and the CNI plugins add iptables chains
(``KUBE-*``, ``CNI-*``) and, through iptables-nft, nftables tables that only ``nft`` can remove;
containerd and the kubelet mount (pod network namespaces, volumes, overlay root filesystems),
create cgroups and some fixed directories even when told to use others.  The record names what
existed before, so teardown removes only what the cluster added and restores each sysctl.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout

__all__ = [
    "TOUCHED_SYSCTLS",
    "FIXED_PATHS",
    "CGROUP_ROOT",
    "record_host",
    "restore_host",
    "read_sysctl",
    "iptables_chains",
    "nft_tables",
    "mount_points",
    "cgroup_dirs",
    "kill_cluster_processes",
]

# Set by the kubelet (kernel tunables it expects), or kube-proxy/CNI if left to their defaults.
TOUCHED_SYSCTLS = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.route_localnet",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
)
# Created by the kubelet or containerd whatever their configured directories.
FIXED_PATHS = (
    "/var/lib/kubelet",
    "/var/log/containers",
    "/var/log/pods",
    "/var/lib/cni",
    "/run/netns",
    "/run/containerd",
    "/run/containerd/runc",
    "/etc/cni",
    "/opt/cni",
)
CGROUP_ROOT = "xmtpd-e2e-k8s"
_CHAIN_PREFIXES = ("KUBE-", "CNI-")
_TABLES = ("filter", "nat", "mangle", "raw")
_CGROUPS = Path("/sys/fs/cgroup")


def read_sysctl(key: str) -> str | None:
    try:
        return Path("/proc/sys", key.replace(".", "/")).read_text().strip()
    except OSError:
        return None


def _write_sysctl(key: str, value: str) -> None:
    try:
        Path("/proc/sys", key.replace(".", "/")).write_text(value + "\n")
    except OSError:
        subprocess.run(["sysctl", "-qw", f"{key}={value}"], capture_output=True, check=False)


def iptables_chains(family: str = "ipv4") -> dict[str, list[str]]:
    """Chain names per table (builtin and user-defined)."""
    tool = "iptables" if family == "ipv4" else "ip6tables"
    chains: dict[str, list[str]] = {}
    for table in _TABLES:
        listed = subprocess.run([tool, "-t", table, "-S"], capture_output=True, text=True, check=False)
        chains[table] = sorted(
            line.split()[1] for line in listed.stdout.splitlines() if line.startswith(("-N ", "-P "))
        )
    return chains


def nft_tables() -> list[str]:
    """``family name`` of every nftables table (empty if ``nft`` is not installed)."""
    if shutil.which("nft") is None:
        return []
    listed = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False)
    return sorted(
        line.removeprefix("table ").strip() for line in listed.stdout.splitlines() if line.startswith("table ")
    )


def mount_points() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        points.append(line.split()[4].replace("\\040", " "))
    return points


def cgroup_dirs() -> list[str]:
    """Every cgroup directory of the cluster (deepest first)."""
    found: list[str] = []
    if not _CGROUPS.is_dir():
        return found
    for controller in sorted(_CGROUPS.iterdir()):
        root = controller / CGROUP_ROOT
        if root.is_dir() and not root.is_symlink():
            found += [str(path) for path, _dirs, _files in os.walk(root)]
    return sorted(found, key=lambda path: path.count("/"), reverse=True)


def record_host(layout: ClusterLayout) -> None:
    """Record the host's state before the cluster first changes it (kept until teardown)."""
    if layout.host_record.exists():
        return
    layout.root.mkdir(parents=True, exist_ok=True)
    record = {
        "sysctls": {key: read_sysctl(key) for key in TOUCHED_SYSCTLS},
        "iptables": {family: iptables_chains(family) for family in ("ipv4", "ipv6")},
        "nft_tables": nft_tables(),
        "paths": {path: os.path.lexists(path) for path in (*FIXED_PATHS, str(layout.run_root))},
        "mounts": mount_points(),
        "netns": sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else [],
    }
    layout.host_record.write_text(json.dumps(record, indent=2))


def _descendants(roots: set[int]) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[2])
            except (OSError, IndexError, ValueError):
                continue
    found = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return found


def kill_cluster_processes(layout: ClusterLayout) -> None:
    """SIGKILL every pod process (by the cluster's cgroups) and every shim of its containerds."""
    pids: set[int] = set()
    for directory in cgroup_dirs():
        try:
            pids |= {int(p) for p in Path(directory, "cgroup.procs").read_text().split()}
        except OSError:
            continue
    marker = str(layout.run_root).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"containerd-shim") or b"containerd-shim" in cmdline.split(b"\0")[0]:
            if marker in cmdline:
                pids.add(int(entry))
    pids.discard(os.getpid())
    for pid in _descendants(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
    time.sleep(0.2 if pids else 0)


def _remove_chains(record: dict[str, dict[str, list[str]]]) -> None:
    for family, tool in (("ipv4", "iptables"), ("ipv6", "ip6tables")):
        before = record.get(family, {})
        for table in _TABLES:
            listed = subprocess.run([tool, "-t", table, "-S"], capture_output=True, text=True, check=False).stdout
            ours = {
                line.split()[1]
                for line in listed.splitlines()
                if line.startswith("-N ")
                and line.split()[1].startswith(_CHAIN_PREFIXES)
                and line.split()[1] not in before.get(table, [])
            }
            if not ours:
                continue
            for line in listed.splitlines():  # jumps from chains that stay
                parts = shlex.split(line)  # rules carry quoted comments (the CNI plugins')
                if parts[0] == "-A" and parts[1] not in ours and "-j" in parts and parts[parts.index("-j") + 1] in ours:
                    subprocess.run([tool, "-t", table, "-D", *parts[1:]], capture_output=True, check=False)
            for chain in ours:
                subprocess.run([tool, "-t", table, "-F", chain], capture_output=True, check=False)
            for chain in ours:
                subprocess.run([tool, "-t", table, "-X", chain], capture_output=True, check=False)


def _remove_nft_tables(before: list[str]) -> None:
    if shutil.which("nft") is None:
        return
    for table in nft_tables():
        if table in before:
            continue
        family, name = table.split(" ", 1)
        listed = subprocess.run(
            ["nft", "-j", "list", "table", family, name], capture_output=True, text=True, check=False
        )
        try:
            objects = json.loads(listed.stdout).get("nftables", [])
        except ValueError:
            continue
        if any("rule" in item for item in objects):
            continue  # someone else's rules live there now
        subprocess.run(["nft", "delete", "table", family, name], capture_output=True, check=False)


def _unmount(layout: ClusterLayout, mounts_before: list[str], paths_before: dict[str, bool]) -> None:
    # Network namespaces are unmounted by `ip netns del`; /run/netns itself is shared with others.
    prefixes = [str(layout.root), str(layout.run_root)]
    prefixes += [path for path, existed in paths_before.items() if not existed and "netns" not in path]
    for _attempt in range(3):
        ours = [
            point
            for point in mount_points()
            if point not in mounts_before
            and any(point == p.rstrip("/") or point.startswith(p.rstrip("/") + "/") for p in prefixes)
        ]
        if not ours:
            return
        for point in sorted(set(ours), key=lambda p: p.count("/"), reverse=True):
            if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def restore_host(layout: ClusterLayout) -> list[str]:
    """Undo the cluster's host changes (processes must be stopped first); returns problems."""
    problems: list[str] = []
    try:
        record = json.loads(layout.host_record.read_text())
    except (OSError, ValueError):
        record = {}
    kill_cluster_processes(layout)
    _remove_chains(record.get("iptables", {}))
    _remove_nft_tables(record.get("nft_tables", []))
    netns_before = set(record.get("netns", []))
    for name in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
        if name.startswith("cni-") and name not in netns_before:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    paths_before: dict[str, bool] = record.get("paths", {})
    _unmount(layout, record.get("mounts", mount_points()), paths_before)
    for directory in cgroup_dirs():
        try:
            os.rmdir(directory)
        except FileNotFoundError:
            continue
        except OSError as error:
            problems.append(f"cgroup {directory}: {error}")
    for path, existed in paths_before.items():
        if not existed and os.path.lexists(path):
            if os.path.islink(path):
                os.unlink(path)
            else:
                shutil.rmtree(path, ignore_errors=True)
            if os.path.lexists(path):
                problems.append(f"could not remove {path}")
    for key, value in record.get("sysctls", {}).items():
        if value is not None and read_sysctl(key) != value:
            _write_sysctl(key, value)
            if read_sysctl(key) != value:
                problems.append(f"sysctl {key} is {read_sysctl(key)}, was {value}")
    return problems
