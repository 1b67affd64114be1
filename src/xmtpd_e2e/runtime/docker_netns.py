"""A network namespace that outlives a container's restarts: a holder container per service.

Docker gives a container a new network namespace at every start, so iptables rules and qdiscs
applied inside it (partitions, cuts, loss, shaping) are gone when a faulted node is restarted,
and the restarted node exchanges traffic until they are applied again (seen: a node partitioned,
killed and restarted took in 3 of another node's envelopes).  Kubernetes avoids this with a pod
sandbox; this is the same idea: the service's container joins the network of a *holder*
container (``network_mode=container:<holder>``) that starts once and runs until the environment
is removed.  The namespace, its address, its published ports and every rule in it survive the
service's stop, kill and start, so the restarted process's first packet meets the fault.

The MLS validation service gets one for another reason: a fault stops it, and a stopped process
on a host that is still there refuses connections at once -- what the local runtime (whose
namespaces outlive their processes) and kubernetes (a Service with no endpoint rejects) show.  A
stopped container's address instead stops answering and its name stops resolving, so every caller
waits out its connect timeout (xmtpd held each key-package publish 20 s): a different fault, which
a partition from the service gives on every runtime.  Redis and the chain are not held: their
containers are stopped only by full-suite faults, and a holder is one more container per
environment.

The holder runs toxiproxy's image (every environment has it), its server listening on the
holder's loopback only (:data:`HOLDER_PORT`), so it serves nothing on the network.  It carries
the run's labels and is recorded in the run state like any container, so ``cleanup`` removes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docker.errors import DockerException, NotFound
from docker.models.containers import Container

from xmtpd_e2e.errors import ServiceError

__all__ = ["HOLDER_ROLES", "HOLDER_PORT", "holder_name", "ensure_running", "namespace_of", "remove_holder"]

HOLDER_ROLES = frozenset({"node", "gateway", "validation"})
"""Services that faults restart while in force, and the validation service, whose stop must look
like a stopped process (refused connections): they get a holder."""
HOLDER_PORT = 18474
"""The holder's toxiproxy API port, on its loopback (no service of the framework uses it)."""


def holder_name(container_name: str) -> str:
    return f"{container_name}-netns"


def holder_options(image: str) -> dict[str, Any]:
    """What a holder is created with, besides the network settings the service would have had."""
    return {"image": image, "command": ["-host", "127.0.0.1", "-port", str(HOLDER_PORT)], "detach": True}


def ensure_running(holder: Container) -> None:
    """Start the holder if it is not running (first start of its service, or after it died)."""
    try:
        holder.reload()
        if holder.status != "running":
            holder.start()
    except DockerException as error:
        raise ServiceError(f"starting the network holder {holder.name} failed: {error}") from error


def namespace_of(holder: Container) -> Path | None:
    """The holder's network namespace (the service's too), while the holder runs."""
    try:
        holder.reload()
    except NotFound:
        return None
    pid = int(holder.attrs["State"].get("Pid") or 0)
    path = Path(f"/proc/{pid}/ns/net")
    return path if pid > 0 and path.exists() else None


def remove_holder(holder: Container) -> None:
    try:
        holder.remove(force=True)
    except NotFound:
        return
    except DockerException as error:
        raise ServiceError(f"removing {holder.name} failed: {error}") from error
