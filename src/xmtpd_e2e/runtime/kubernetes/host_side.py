"""What the framework can do to a pod from the host of the local cluster's nodes.

On a remote cluster the framework has only the API.  On the local cluster every container is a
host process, found through its node's containerd state (``init.pid`` of the container's task),
so a kill can be a real SIGKILL, a pause a real SIGSTOP of every process in the container, and
network faults can enter the pod's network namespace.
"""

from __future__ import annotations

import os
from pathlib import Path

from xmtpd_e2e.infra.kubernetes.layout import ClusterLayout

__all__ = ["container_pid", "container_pids"]


def _task_dir(layout: ClusterLayout, container_id: str) -> Path | None:
    for node in layout.nodes:
        candidate = node.run_dir / "containerd-state" / "io.containerd.runtime.v2.task" / "k8s.io" / container_id
        if candidate.is_dir():
            return candidate
    return None


def container_pid(layout: ClusterLayout, container_id: str) -> int | None:
    """Host pid of the container's main process while it runs, else None."""
    task = _task_dir(layout, container_id.removeprefix("containerd://"))
    if task is None:
        return None
    try:
        pid = int((task / "init.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def container_pids(pid: int) -> list[int]:
    """Every process sharing the main process's pid namespace (all of the container's)."""
    try:
        namespace = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                    found.append(int(entry))
            except OSError:
                continue
    return found
