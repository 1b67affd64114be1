"""A network namespace that outlives a container's restarts: a holder container per service.

Docker gives a container a new network namespace, and a new address, at every start, so iptables
rules and qdiscs applied inside it (partitions, cuts, loss, shaping) are gone when a faulted node
is restarted, and the restarted node exchanges traffic until they are applied again (seen: a
node partitioned, killed and restarted took in 3 of another node's envelopes); and while it is
stopped its address answers nothing, where a stopped process on a live host refuses connections
(as on the local runtime, whose namespaces outlive their processes).  Kubernetes avoids the first with a
pod sandbox; this is the same idea: a *holder* container that keeps the service's address and
namespace, and the service's container joined to it (``network_mode=container:<holder>``).

A holder costs a container (about 0.6 CPU-s to create, start and remove on a 2-core machine), so
a service gets one only when it first stops: at once, at the address and on the host ports it
had (the environment's network names its subnet so that an address can be given), so the address
stays, refusing connections, and a client finds it where it was; at its next start the faults in force go into the holder's namespace before its
container -- made anew, joined to the holder -- runs, so the restarted process's first packet
meets them.  From then on the namespace, address, published ports and every rule in it survive
the service's stops, kills and starts.  A service that never stops never has one; nor does one
stopped by the environment's teardown.

The MLS validation service is held for the same reason as nodes and gateways: a fault stops it,
and with its address silent xmtpd held each key-package publish 20 s (a different fault, which a
partition from the service gives on every runtime).  Redis and the chain are not held: their
containers are stopped only by full-suite faults.

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
"""Services that faults stop and start again: they get a holder at their first stop."""
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
