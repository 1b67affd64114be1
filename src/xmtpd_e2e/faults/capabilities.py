"""What a runtime offers to faults, asked of the runtime and the machine, never guessed.

A *capability* is a named thing a fault kind needs (:attr:`FaultKind.needs`).  Each has a probe
that asks the runtime (``network_faults_unavailable()``, ``pause_unavailable()``) or tries the
machine (can ``iptables`` run here, does the kernel take a netem qdisc) and returns why it is
missing, or None.  Explore draws only kinds whose capabilities are all present, and records the
others with the reason; the fault API refuses them with the same reason.

Why probes rather than ``os.geteuid() == 0``: a runner with CAP_NET_ADMIN but another uid can
apply rules, root on a remote Kubernetes cluster cannot, and root on a kernel without netem
cannot duplicate packets.  New capabilities (H4's database, chain ... layers) register a probe
with :func:`register_capability`.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Callable

from xmtpd_e2e.runtime.base import Runtime

__all__ = [
    "Capabilities",
    "capabilities_of",
    "register_capability",
    "TOXIPROXY",
    "RESTART",
    "PAUSE",
    "NAMESPACE_RULES",
    "NETEM",
]

TOXIPROXY = "toxiproxy"
"""Every environment runs toxiproxy in front of each node and gateway."""
RESTART = "restart"
"""Stop or kill a service and start it again on its data (every runtime)."""
PAUSE = "pause"
"""Freeze a service's processes (SIGSTOP, the cgroup freezer)."""
NAMESPACE_RULES = "namespace-rules"
"""iptables and tc inside each service's own network namespace."""
NETEM = "netem"
"""The kernel's netem qdisc (duplication, reordering), inside those namespaces."""

Probe = Callable[[Runtime], "str | None"]
_PROBES: dict[str, Probe] = {}


class Capabilities:
    """What one runtime offers, probed lazily: a capability is probed the first time a kind
    asks for it (so a probe that needs a database runs only where a database kind is used),
    and its answer kept.  ``known`` gives answers up front (tests, reports read back)."""

    def __init__(self, runtime: str, known: dict[str, str] | None = None, *, probe_on: Runtime | None = None) -> None:
        self.runtime = runtime
        self._answers: dict[str, str | None] = dict(known or {})
        self._probe_on = probe_on

    def why_missing(self, capability: str) -> str | None:
        """Why ``capability`` is missing, or None when present."""
        if capability not in self._answers:
            self._answers[capability] = self._probe(capability)
        return self._answers[capability]

    def _probe(self, capability: str) -> str | None:
        if capability not in _PROBES:
            return f"no probe declares the capability {capability!r} (register_capability)"
        if self._probe_on is None:
            return None
        try:
            return _PROBES[capability](self._probe_on)
        except Exception as error:  # a probe that cannot run says the capability is missing
            return f"probing {capability} failed: {error}"

    def has(self, capability: str) -> bool:
        return self.why_missing(capability) is None

    @property
    def missing(self) -> dict[str, str]:
        """Every declared capability that is missing, with why (probes all of them)."""
        answers = {name: self.why_missing(name) for name in sorted(set(_PROBES) | set(self._answers))}
        return {name: reason for name, reason in answers.items() if reason is not None}


def register_capability(name: str, probe: Probe) -> None:
    """Declare a capability: ``probe(runtime)`` returns why it is missing, or None."""
    _PROBES[name] = probe


def capabilities_of(runtime: Runtime) -> Capabilities:
    """The capabilities of ``runtime``, each probed when first asked."""
    return Capabilities(runtime.name, probe_on=runtime)


def _tool_fails(argv: list[str]) -> str | None:
    """Why ``argv`` cannot run successfully here, or None when it does."""
    if shutil.which(argv[0]) is None:
        return f"the command {argv[0]} is not on PATH (Debian: apt-get install iptables iproute2 util-linux)"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{' '.join(argv)} failed: {error}"
    if done.returncode != 0:
        return f"{' '.join(argv)} failed here: {(done.stderr or done.stdout).strip()[:200]}"
    return None


@functools.cache
def machine_lacks_namespace_tools() -> str | None:
    """Why this runner cannot run iptables/tc inside another network namespace (it tries: reading
    its own rules needs CAP_NET_ADMIN, entering a namespace CAP_SYS_ADMIN)."""
    for argv in (["nsenter", "--net=/proc/self/ns/net", "true"], ["iptables", "--wait", "-S", "OUTPUT"], ["tc", "-V"]):
        problem = _tool_fails(argv)
        if problem is not None:
            return problem + " (run as root, or with CAP_NET_ADMIN and CAP_SYS_ADMIN)"
    return None


@functools.cache
def kernel_lacks_netem() -> str | None:
    """Why the kernel takes no netem qdisc: tried on the loopback of a fresh, throw-away
    network namespace (nothing on the machine is touched)."""
    problem = _tool_fails(["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"])
    if problem is None:
        return None
    return f"the kernel's netem qdisc (sch_netem) is not usable here: {problem}"


def _namespace_rules(runtime: Runtime) -> str | None:
    refusal = runtime.network_faults_unavailable()
    if refusal is not None:
        return str(refusal.problem)
    return machine_lacks_namespace_tools()


def _netem(runtime: Runtime) -> str | None:
    return _namespace_rules(runtime) or kernel_lacks_netem()


def _pause(runtime: Runtime) -> str | None:
    refusal = runtime.pause_unavailable()
    return None if refusal is None else str(refusal.problem)


register_capability(TOXIPROXY, lambda runtime: None)
register_capability(RESTART, lambda runtime: None)
register_capability(PAUSE, _pause)
register_capability(NAMESPACE_RULES, _namespace_rules)
register_capability(NETEM, _netem)
