"""Dropping traffic inside one network namespace with iptables: partitions, cuts, packet loss.

Every fault gets its own two chains in the namespace's ``filter`` table, jumped to first from
INPUT and OUTPUT, so faults stack and one is removed without touching the others (nor the rules docker
keeps in a container's ``nat`` table for its DNS).  A whole rule set goes in with one
``iptables-restore --noflush``: atomic, one process per namespace.

Rules match *both* directions of a flow.  Dropping only the packets one way would break TCP both
ways anyway (the handshake needs both), and dropping both makes an established stream stall
exactly as in a real partition, instead of being reset.
"""

from __future__ import annotations

from dataclasses import dataclass

from xmtpd_e2e.faults.namespace import NamespaceGone, run_in_namespace

__all__ = ["Flow", "DropRules", "chain_name"]


@dataclass(frozen=True)
class Flow:
    """Traffic of one namespace, described from inside it.

    ``remote_ip``/``remote_port``: the far end (``None``: any); ``local_port``: the port on this
    side (``None``: any).  ``Flow()`` is every packet that is not loopback.  A flow with a port
    is TCP unless ``protocol`` says otherwise.
    """

    remote_ip: str | None = None
    remote_port: int | None = None
    local_port: int | None = None
    protocol: str = "tcp"
    """The protocol of a flow with a port."""

    def outbound(self) -> list[str]:
        """iptables match for the flow's packets leaving the namespace (OUTPUT)."""
        return self._match(destination=True)

    def inbound(self) -> list[str]:
        """iptables match for the flow's packets arriving (INPUT)."""
        return self._match(destination=False)

    def _match(self, *, destination: bool) -> list[str]:
        args: list[str] = []
        if self.remote_ip is None:
            args += ["!", "-o" if destination else "-i", "lo"]
        else:
            args += ["-d" if destination else "-s", self.remote_ip]
        if self.remote_port is not None or self.local_port is not None:
            args += ["-p", self.protocol]
            if self.remote_port is not None:
                args += ["--dport" if destination else "--sport", str(self.remote_port)]
            if self.local_port is not None:
                args += ["--sport" if destination else "--dport", str(self.local_port)]
        return args

    def describe(self) -> str:
        far = f"{self.remote_ip or '*'}:{self.remote_port or '*'}"
        suffix = f" ({self.protocol})" if self.protocol != "tcp" else ""
        return f"local :{self.local_port or '*'} <-> {far}{suffix}"


def chain_name(fault_id: int) -> str:
    """The prefix of one fault's iptables chains (chain names are limited to 28 characters)."""
    return f"XMTPD-E2E-F{fault_id}"


@dataclass(frozen=True)
class DropRules:
    """Drop the packets of ``flows`` in one namespace, each with ``probability`` (1.0 = all)."""

    chain: str
    flows: tuple[Flow, ...]
    probability: float = 1.0
    spared: tuple[Flow, ...] = ()
    """Flows let through before any drop (the service's name servers, see ``name_servers``)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.probability <= 1.0:
            raise ValueError(f"a drop probability must be in (0, 1], got {self.probability}")

    def _target(self) -> list[str]:
        if self.probability >= 1.0:
            return ["-j", "DROP"]
        return ["-m", "statistic", "--mode", "random", "--probability", f"{self.probability:.6f}", "-j", "DROP"]

    @property
    def chains(self) -> tuple[str, str]:
        """(inbound, outbound): each direction has its own chain, because a negated interface
        match (``! -o lo``) also holds in INPUT, where packets have no output interface."""
        return f"{self.chain}-I", f"{self.chain}-O"

    def install_script(self) -> str:
        """``iptables-restore --noflush`` input creating the chains and jumping to them."""
        inbound, outbound = self.chains
        lines = ["*filter", f":{inbound} - [0:0]", f":{outbound} - [0:0]"]
        for flow in self.spared:
            lines.append(" ".join(["-A", outbound, *flow.outbound(), "-j", "RETURN"]))
            lines.append(" ".join(["-A", inbound, *flow.inbound(), "-j", "RETURN"]))
        for flow in self.flows:
            lines.append(" ".join(["-A", outbound, *flow.outbound(), *self._target()]))
            lines.append(" ".join(["-A", inbound, *flow.inbound(), *self._target()]))
        lines += [f"-I INPUT 1 -j {inbound}", f"-I OUTPUT 1 -j {outbound}", "COMMIT", ""]
        return "\n".join(lines)

    def remove_script(self) -> str:
        inbound, outbound = self.chains
        return "\n".join(
            [
                "*filter",
                f"-D INPUT -j {inbound}",
                f"-D OUTPUT -j {outbound}",
                f"-F {inbound}",
                f"-F {outbound}",
                f"-X {inbound}",
                f"-X {outbound}",
                "COMMIT",
                "",
            ]
        )

    def install(self, namespace: str) -> None:
        """Install the chains (replacing them if present: a restart re-applies a fault)."""
        self.remove(namespace)
        run_in_namespace(namespace, ["iptables-restore", "--noflush", "--wait"], stdin=self.install_script())

    def present(self, namespace: str) -> bool:
        """Whether the chains are installed in ``namespace`` (a restarted container's new
        namespace has none)."""
        try:
            found = run_in_namespace(
                namespace, ["iptables", "--wait", "-C", "INPUT", "-j", self.chains[0]], check=False
            )
        except NamespaceGone:
            return False
        return found.returncode == 0

    def remove(self, namespace: str) -> None:
        """Remove the chain; nothing to do when the namespace (and so its rules) is gone."""
        try:
            present = run_in_namespace(namespace, ["iptables", "--wait", "-S", self.chains[0]], check=False)
            if present.returncode != 0:
                return
            run_in_namespace(namespace, ["iptables-restore", "--noflush", "--wait"], stdin=self.remove_script())
        except NamespaceGone:
            return
