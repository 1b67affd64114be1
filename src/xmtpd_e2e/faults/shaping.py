"""Traffic shaping on a service's interface with tc: bandwidth limits, and netem where it exists.

Bandwidth: a token bucket (``tbf``) on the interface's egress, and the same on its ingress by
redirecting incoming packets to an ``ifb`` device (the ingress qdisc cannot queue, an ifb's
egress can).  Both are built into this kernel.

Duplication and reordering need ``sch_netem``, which some kernels lack (``tc`` answers
"Specified qdisc kind is unknown"; this project's machines among them).  The ``netem``
capability probes for it before a kind needing it is applied or drawn; :class:`NetemQdisc` still
turns that answer into a :class:`FaultUnavailable` naming the missing piece.  Latency and jitter
are offered through toxiproxy.
"""

from __future__ import annotations

from dataclasses import dataclass

from xmtpd_e2e.errors import ServiceError
from xmtpd_e2e.faults.namespace import NamespaceGone, run_in_namespace
from xmtpd_e2e.faults.registry import FaultUnavailable

__all__ = ["BandwidthLimit", "NetemQdisc", "FaultUnavailable", "interface_with_address"]

IFB_DEVICE = "xe2e-ifb"


def interface_with_address(namespace: str, address: str | None) -> str:
    """The interface holding ``address`` in ``namespace`` (the first non-loopback one if None)."""
    listing = run_in_namespace(namespace, ["ip", "-o", "-4", "addr", "show"]).stdout
    candidates = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[1] == "lo":
            continue
        name = fields[1].split("@")[0]
        if address is not None and fields[3].split("/")[0] == address:
            return name
        candidates.append(name)
    if address is None and candidates:
        return candidates[0]
    raise ServiceError(f"no interface with address {address} in {namespace}:\n{listing}")


def _qdiscs(namespace: str, interface: str) -> str:
    """``tc qdisc show`` of ``interface`` (empty when the namespace or interface is gone)."""
    try:
        shown = run_in_namespace(namespace, ["tc", "qdisc", "show", "dev", interface], check=False)
    except NamespaceGone:
        return ""
    return shown.stdout if shown.returncode == 0 else ""


@dataclass(frozen=True)
class BandwidthLimit:
    """At most ``kilobytes_per_second`` in each direction on ``interface``."""

    interface: str
    kilobytes_per_second: int

    def _tbf(self, device: str) -> list[str]:
        rate = self.kilobytes_per_second * 1024
        burst = max(16 * 1024, rate // 10)
        limit = max(64 * 1024, rate * 2)  # up to ~2 s of queue before tail drop
        return [
            "tc",
            "qdisc",
            "replace",
            "dev",
            device,
            "root",
            "tbf",
            "rate",
            f"{rate * 8}bit",
            "burst",
            str(burst),
            "limit",
            str(limit),
        ]

    def install(self, namespace: str) -> None:
        if self.kilobytes_per_second <= 0:
            raise ValueError("a bandwidth limit must be at least 1 KB/s")
        self.remove(namespace)
        steps = [
            self._tbf(self.interface),
            ["ip", "link", "add", IFB_DEVICE, "type", "ifb"],
            ["ip", "link", "set", IFB_DEVICE, "up"],
            self._tbf(IFB_DEVICE),
            ["tc", "qdisc", "add", "dev", self.interface, "handle", "ffff:", "ingress"],
            [
                "tc",
                "filter",
                "add",
                "dev",
                self.interface,
                "parent",
                "ffff:",
                "protocol",
                "all",
                "u32",
                "match",
                "u32",
                "0",
                "0",
                "action",
                "mirred",
                "egress",
                "redirect",
                "dev",
                IFB_DEVICE,
            ],
        ]
        for step in steps:
            run_in_namespace(namespace, step)

    def present(self, namespace: str) -> bool:
        return "tbf" in _qdiscs(namespace, self.interface)

    def remove(self, namespace: str) -> None:
        try:
            for step in (
                ["tc", "qdisc", "del", "dev", self.interface, "root"],
                ["tc", "qdisc", "del", "dev", self.interface, "ingress"],
                ["ip", "link", "del", IFB_DEVICE],
            ):
                run_in_namespace(namespace, step, check=False)
        except NamespaceGone:
            return


@dataclass(frozen=True)
class NetemQdisc:
    """A netem root qdisc (``duplicate 5%``, ``reorder 25%`` ...) where the kernel has netem."""

    interface: str
    options: tuple[str, ...]
    fault: str

    def install(self, namespace: str) -> None:
        command = ["tc", "qdisc", "add", "dev", self.interface, "root", "netem", *self.options]
        result = run_in_namespace(namespace, command, check=False)
        if result.returncode == 0:
            return
        if "unknown" in result.stderr.lower() and "qdisc" in result.stderr.lower():
            raise FaultUnavailable(
                f"{self.fault} is not available on this kernel: it needs the netem qdisc (sch_netem), "
                f"which this kernel does not have (tc: {result.stderr.strip()})",
                "run on a kernel with sch_netem (most distributions ship it as a module); latency "
                "and jitter are available through toxiproxy (add_latency)",
            )
        if "exists" in result.stderr.lower():
            raise FaultUnavailable(
                f"{self.fault} cannot be combined with a bandwidth limit or another netem fault on the same service",
                "remove the other fault first",
            )
        raise ServiceError(f"{' '.join(command)} failed: {result.stderr.strip()}")

    def present(self, namespace: str) -> bool:
        return "netem" in _qdiscs(namespace, self.interface)

    def remove(self, namespace: str) -> None:
        try:
            run_in_namespace(namespace, ["tc", "qdisc", "del", "dev", self.interface, "root"], check=False)
        except NamespaceGone:
            return
